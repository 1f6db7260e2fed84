/* The gradient tests' shared check (tests/unit/test_model.c, test_topic.c): every parameter of a
 * model's gradient against central finite differences of an independent double-precision
 * reference loss. CMocka assertions: for tests only. */
#ifndef GRAD_CHECK_H
#define GRAD_CHECK_H

#include "vae/model.h"

/* The reference loss sum_d loss_d at parameters p (the layout's buffer form, in double). */
typedef double (*grad_check_loss)(const double *p, void *ctx);

/* Fails the test at the first element of g (the model's gradient of scale * loss) that is not
 * within 1e-3 relative plus 2e-5 absolute of scale times the central difference (step 1e-6) of
 * loss at p, which it restores; what names the case in the message. */
void grad_check(const vae_layout *l, double *p, const float *g, double scale, grad_check_loss loss, void *ctx,
                const char *what);

#endif
