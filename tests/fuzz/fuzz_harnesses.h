/* The fuzzers' entry points, one per harness (fuzz_<name>.c): each takes one input and aborts with
 * a message when an invariant breaks. The libFuzzer programs call them from LLVMFuzzerTestOneInput;
 * the test harness library builds them without that entry, so test_fuzz_regressions replays the
 * saved inputs through the same code. */
#ifndef VAE_FUZZ_HARNESSES_H
#define VAE_FUZZ_HARNESSES_H

#include <stddef.h>
#include <stdint.h>

int fuzz_checkpoint_one(const uint8_t *data, size_t size);
int fuzz_corpus_one(const uint8_t *data, size_t size);
int fuzz_tokenize_one(const uint8_t *data, size_t size);

#endif
