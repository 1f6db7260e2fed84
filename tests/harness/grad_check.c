/* See grad_check.h. */
#include "grad_check.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

void grad_check(const vae_layout *l, double *p, const float *g, double scale, grad_check_loss loss, void *ctx,
                const char *what)
{
    for (int ti = 0; ti < l->num_tensors; ti++) {
        const vae_tensor *tt = &l->tensors[ti];
        for (size_t k = 0; k < tt->size; k++) {
            const size_t i = tt->offset + k;
            const double h = 1e-6, saved = p[i];
            p[i] = saved + h;
            const double up = loss(p, ctx);
            p[i] = saved - h;
            const double down = loss(p, ctx);
            p[i] = saved;
            const double fd = scale * (up - down) / (2 * h);
            /* float32 forward/backward against a double reference: 1e-3 relative plus an absolute
             * floor for gradients that are zero up to rounding. */
            if (!(fabs(g[i] - fd) <= 1e-3 * fabs(fd) + 2e-5))
                fail_msg("%s[%zu]: analytic %.8g, finite difference %.8g (%s)", tt->name, k, (double)g[i], fd, what);
        }
    }
}
