/* The machine's limits against a run's settings (see resources.h). */
#include "resources.h"

#include <unistd.h>

#include "vae/common.h"

double train_memory_needed(size_t num_params, int64_t V, int64_t batch)
{
    return 4.0 * sizeof(float) * (double)num_params + 2.0 * sizeof(float) * (double)V * (double)batch;
}

int train_check_memory(size_t num_params, int64_t V, int64_t batch)
{
    const double need = train_memory_needed(num_params, V, batch);
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    const double have = pages > 0 && page > 0 ? (double)pages * (double)page : 0.0;
    if (have <= 0.0 || need <= have)
        return VAE_OK;
    return vae_fail(VAE_ERR_LIMIT,
                    "the model's buffers need at least %.1f GB a rank (%zu parameters: their values, gradients "
                    "and the optimizer's two moments; the decoder's %lld outputs for %lld units or tokens a rank), more "
                    "than this machine's %.1f GB of memory: lower --latent, the layer sizes or --batch-size",
                    need / 1e9, num_params, (long long)V, (long long)batch, have / 1e9);
}
