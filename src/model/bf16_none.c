/* The build without a bfloat16 backend (model/bf16.h): CMake found no oneDNN (Debian's
 * libdnnl-dev), so --precision bf16 says what to install. */
#include "bf16.h"

#include "vae/common.h"

static int missing(void)
{
    return vae_fail(VAE_ERR_LIMIT, "--precision bf16: this build has no bfloat16 matrix library (install Debian's "
                    "libdnnl-dev and build again)");
}

int vae_bf16_check(void) { return missing(); }
const char *vae_bf16_library(void) { return "none"; }
int vae_bf16_gemm_new(vae_bf16_gemm **out)
{
    *out = NULL;
    return missing();
}
void vae_bf16_gemm_free(vae_bf16_gemm *g) { (void)g; }
int vae_bf16_gemm_run(vae_bf16_gemm *g, int ta, int tb, int M, int N, int K, const vae_bf16 *A, int lda,
                      const vae_bf16 *B, int ldb, int accumulate, float *C, int ldc)
{
    return missing();
}
void vae_bf16_set_threads(int n) { (void)n; }
