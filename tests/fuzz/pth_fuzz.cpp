// A score_sde checkpoint as torch.save wrote it (sgm-train --import, the parity tools): the zip
// container through LibTorch's reader, then the pickle and the storages it names.
#include "tests/fuzz/fuzz_target.h"
#include "trainer/models/torch_checkpoint.h"

SGM_FUZZ_TARGET(pth) { sgm::models::parse_reference_checkpoint(bytes, sgm::fuzz::kInputName); }
