// The image decoder of sgm-data make --from folder and --from edm: PNG or JPEG bytes (or any
// format the decoder recognises), decoded, cropped to a square and resized to 16 x 16 RGB. The
// size limit is 256 x 256 pixels here instead of 8192 x 8192, the same check: decoding the
// largest images the limit lets through took seconds per input, which left the fuzzer a few
// hundred inputs in 10 minutes.
#include "data/image_set.h"
#include "tests/fuzz/fuzz_target.h"

SGM_FUZZ_TARGET(image) {
  sgm::data::decode_image(bytes, sgm::fuzz::kInputName, 16, 3, std::int64_t{1} << 16);
}
