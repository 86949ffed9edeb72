// The image decoder of sgm-data make --from folder and --from edm: PNG or JPEG bytes (or any
// format the decoder recognises), decoded, cropped to a square and resized to 16 x 16 RGB.
#include "data/image_set.h"
#include "tests/fuzz/fuzz_target.h"

SGM_FUZZ_TARGET(image) { sgm::data::decode_image(bytes, sgm::fuzz::kInputName, 16, 3); }
