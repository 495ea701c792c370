/* surrogate_mpl.c — the multi-power-law surrogate (formula in
 * schedopt/surrogate.h).
 *
 * Fast evaluation.  Source k (a_k = η_{k−1} − η_k ≠ 0) has its own scale
 * ρ_k = C η_k^−γ: 1 − G = (1 + ρ_k x)^−β with x = T(t) − T(k−1).  On one
 * shared grid of rates q_j = e^{jh} the kernel of every source is
 *   (1 + ρ_k x)^−β ≈ w_{k0} + Σ_j w_{kj} e^{−q_j x},  w_{kj} = h e^{β v − e^v}/Γ(β),
 * v = jh − ln ρ_k (a shifted trapezoid grid, equally accurate), so
 *   LD(t) = Σ_k a_k G_k = W(t) − Σ_j S_j(t),  W = Σ_k a_k Σ_j w_{kj},
 *   S_j(t) = Σ_{k≤t} a_k w_{kj} e^{−q_j (T(t) − T(k−1))},
 * and S_j(t) = e^{−q_j η_t} (S_j(t−1) + a_t w_{tj}).  Gradients: C and γ move
 * ln ρ_k (∂ ln ρ/∂ ln C = 1, ∂ ln ρ/∂γ = −ln η_k), β moves the weights:
 *   ∂w/∂ln ρ = w (e^v − β),  ∂w/∂β = w (v − ψ(β)).
 * A source with η_k = 0 is a full drop (G = 1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "surrogate/surrogate_impl.h"

enum { P_L0, P_A, P_ALPHA, P_B, P_C, P_BETA, P_GAMMA, NP };

static const schedopt_surrogate_param mpl_params[NP] = {
    {"L0", 2.0, 0, 1e6, 0, 20, 0, "irreducible loss", NULL},
    {"A", 0.5, 0, 1e12, 1e-4, 1e3, 1, "amplitude of the power law A*T^-alpha", NULL},
    {"alpha", 0.5, 1e-3, 10, 0.02, 3, 0, "power-law exponent in intrinsic time", NULL},
    {"B", 400.0, 0, 1e12, 1e-2, 1e7, 1, "amplitude of the loss-drop term", NULL},
    {"C", 2.0, 1e-12, 1e12, 1e-4, 1e4, 1, "scale of the drop response", "gamma"},
    {"beta", 0.6, 1e-3, 20, 0.02, 10, 0, "exponent of G(x) = 1 - (C x + 1)^-beta", NULL},
    {"gamma", 0.6, 0, 5, 0, 2, 0, "learning-rate exponent eta_k^-gamma in G's argument", NULL},
};

static double powerlaw(const double *th, double T, double *d) {
  double lt = log(T), ta = exp(-th[P_ALPHA] * lt);
  if (d) {
    d[P_A] = ta;
    d[P_ALPHA] = -th[P_A] * ta * lt;
  }
  return th[P_L0] + th[P_A] * ta;
}

static schedopt_status need_time(const double *T, const schedopt_surrogate_input *in,
                                 schedopt_error *err) {
  for (size_t m = 0; m < in->nout; m++)
    if (!(T[in->out[m]] > 0))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "mpl: the loss at step %zu is infinite (no learning rate "
                                "before it: T = 0)",
                                in->out[m]);
  return SCHEDOPT_OK;
}

/* O(K·n) reference. */
static schedopt_status mpl_direct(const double *th, const schedopt_surrogate_input *in,
                                  const double *T, double *loss, double *dtheta) {
  const double *eta = in->lr;
  double B = th[P_B], C = th[P_C], be = th[P_BETA], ga = th[P_GAMMA];
  for (size_t m = 0; m < in->nout; m++) {
    size_t t = in->out[m];
    double d[NP] = {0};
    double L = powerlaw(th, T[t], d);
    double LD = 0, dC = 0, dbe = 0, dga = 0;
    for (size_t k = 1; k <= t; k++) {
      double a = eta[k - 1] - eta[k];
      if (a == 0) continue;
      if (!(eta[k] > 0)) { /* full drop */
        LD += a;
        continue;
      }
      double le = log(eta[k]), rho = C * exp(-ga * le);
      double x = T[t] - T[k - 1], y = 1 + rho * x, ly = log(y), F = exp(-be * ly);
      LD += a * (1 - F);
      if (dtheta) {
        double dr = a * be * x * F / y; /* ∂(1 − F)/∂ρ · a */
        dC += dr * rho / C;
        dga += dr * rho * (-le);
        dbe += a * ly * F;
      }
    }
    loss[m] = L - B * LD;
    if (dtheta) {
      double *r = dtheta + m * NP;
      r[P_L0] = 1;
      r[P_A] = d[P_A];
      r[P_ALPHA] = d[P_ALPHA];
      r[P_B] = -LD;
      r[P_C] = -B * dC;
      r[P_BETA] = -B * dbe;
      r[P_GAMMA] = -B * dga;
    }
  }
  return SCHEDOPT_OK;
}

static schedopt_status mpl_fast(const double *th, const schedopt_surrogate_input *in,
                                const double *T, double tol, double *loss, double *dtheta,
                                schedopt_error *err) {
  const double *eta = in->lr;
  size_t kmax = in->out[in->nout - 1];
  double B = th[P_B], C = th[P_C], be = th[P_BETA], ga = th[P_GAMMA];
  int grad = dtheta != NULL;
  /* range of ln ρ over the sources */
  double emin = INFINITY, emax = 0;
  for (size_t k = 1; k <= kmax; k++)
    if (eta[k - 1] != eta[k] && eta[k] > 0) {
      if (eta[k] < emin) emin = eta[k];
      if (eta[k] > emax) emax = eta[k];
    }
  size_t J = 0;
  sx_plan pl;
  memset(&pl, 0, sizeof pl);
  if (emax > 0) {
    double l1 = log(C) - ga * log(emax), l2 = log(C) - ga * log(emin);
    if (schedopt_sx_make(&pl, be, tol, fmin(l1, l2), fmax(l1, l2), T[kmax]))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "mpl: cannot build the exponential sum for beta = %g, C = %g, "
                                "gamma = %g (use the direct method)",
                                be, C, ga);
    J = pl.J;
  }
  /* q, decay, weights w, dw/dlnρ, dw/dβ, states S, Sr (ln ρ), Sg (γ), Sp (β) */
  double *buf = calloc(11 * (J ? J : 1), sizeof *buf);
  if (!buf) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  double *q = buf, *dec = q + J, *w = dec + J, *wr = w + J, *wp = wr + J, *S = wp + J,
         *Sr = S + J, *Sg = Sr + J, *Sp = Sg + J;
  if (J) schedopt_sx_tables(&pl, Sp + J); /* q and b live past Sp */
  q = (double *)pl.q;
  double W = 0, Wr = 0, Wg = 0, Wp = 0, full = 0, pend = 0, cached = -1;
  int any = 0;
  size_t m = 0;
  for (size_t t = 0; t <= kmax; t++) {
    double a = t ? eta[t - 1] - eta[t] : 0;
    if (a != 0) {
      /* bring the states to T(t−1), then add the source there */
      if (any && pend > 0) {
        if (pend != cached) {
          schedopt_sx_decay(&pl, pend, dec);
          cached = pend;
        }
        if (grad)
          for (size_t j = 0; j < J; j++)
            S[j] *= dec[j], Sr[j] *= dec[j], Sg[j] *= dec[j], Sp[j] *= dec[j];
        else
          for (size_t j = 0; j < J; j++) S[j] *= dec[j];
      }
      pend = 0;
      if (eta[t] > 0) {
        double le = log(eta[t]), lr = log(C) - ga * le, sr = 0, sp = 0;
        double sw = schedopt_sx_weights(&pl, lr, w, grad ? wr : NULL, grad ? wp : NULL, &sr, &sp);
        for (size_t j = 0; j < J; j++) S[j] += a * w[j];
        W += a * sw;
        if (grad) {
          for (size_t j = 0; j < J; j++)
            Sr[j] += a * wr[j], Sg[j] += -le * a * wr[j], Sp[j] += a * wp[j];
          Wr += a * sr, Wg += -le * a * sr, Wp += a * sp;
        }
        any = 1;
      } else {
        full += a;
      }
    }
    if (t) pend += eta[t];
    if (in->out[m] != t) continue;
    if (any && pend > 0) {
      if (pend != cached) {
        schedopt_sx_decay(&pl, pend, dec);
        cached = pend;
      }
      if (grad)
        for (size_t j = 0; j < J; j++)
          S[j] *= dec[j], Sr[j] *= dec[j], Sg[j] *= dec[j], Sp[j] *= dec[j];
      else
        for (size_t j = 0; j < J; j++) S[j] *= dec[j];
    }
    pend = 0;
    double d[NP] = {0};
    double L = powerlaw(th, T[t], d);
    double ss = 0, ssr = 0, ssg = 0, ssp = 0;
    for (size_t j = 0; j < (any ? J : 0); j++) ss += S[j];
    if (grad && any)
      for (size_t j = 0; j < J; j++) ssr += Sr[j], ssg += Sg[j], ssp += Sp[j];
    double LD = W - ss + full;
    loss[m] = L - B * LD;
    if (grad) {
      double *r = dtheta + m * NP;
      r[P_L0] = 1;
      r[P_A] = d[P_A];
      r[P_ALPHA] = d[P_ALPHA];
      r[P_B] = -LD;
      r[P_C] = -B * (Wr - ssr) / C;
      r[P_BETA] = -B * (Wp - ssp);
      r[P_GAMMA] = -B * (Wg - ssg);
    }
    if (++m == in->nout) break;
  }
  free(buf);
  return SCHEDOPT_OK;
}

static schedopt_status mpl_predict(const double *th, const schedopt_surrogate_input *in,
                                   schedopt_surrogate_method method, double tol, double *loss,
                                   double *dtheta, schedopt_error *err) {
  size_t kmax = in->out[in->nout - 1];
  double *Tm = NULL;
  const double *T = in->T;
  if (!T) {
    if (!(Tm = malloc((kmax + 1) * sizeof *Tm)))
      return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    schedopt_sx_prefix(in->lr, kmax, Tm);
    T = Tm;
  }
  schedopt_status st = need_time(T, in, err);
  if (!st)
    st = method == SCHEDOPT_SURROGATE_DIRECT ? mpl_direct(th, in, T, loss, dtheta)
                                             : mpl_fast(th, in, T, tol, loss, dtheta, err);
  free(Tm);
  return st;
}

/* ∂J/∂η by reverse accumulation of the direct sum (see surrogate_fsl.c);
 * here also ∂ρ_k/∂η_k = −γ ρ_k/η_k. */
static schedopt_status mpl_grad_lr(const double *th, const schedopt_surrogate_input *in,
                                   const double *gout, double *geta, schedopt_error *err) {
  memset(geta, 0, in->nsteps * sizeof *geta);
  if (!in->nout) return SCHEDOPT_OK;
  const double *eta = in->lr;
  size_t kmax = in->out[in->nout - 1];
  double *T = malloc((kmax + 1) * sizeof *T), *gT = calloc(kmax + 2, sizeof *gT),
         *gd = calloc(kmax + 2, sizeof *gd);
  if (!T || !gT || !gd) {
    free(T), free(gT), free(gd);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  schedopt_sx_prefix(eta, kmax, T);
  schedopt_status st = need_time(T, in, err);
  double A = th[P_A], al = th[P_ALPHA], B = th[P_B], C = th[P_C], be = th[P_BETA],
         ga = th[P_GAMMA];
  for (size_t m = 0; m < in->nout && !st; m++) {
    size_t t = in->out[m];
    double gm = gout[m];
    if (gm == 0) continue;
    gT[t] += gm * (-al * A * exp((-al - 1) * log(T[t])));
    /* one log and one exp per term (pow is several times slower); the
     * terms of T(t) are summed into gTt and added once */
    double bg = B * gm, lC = log(C), gTt = 0;
    for (size_t k = 1; k <= t; k++) {
      if (!(eta[k] > 0)) {
        gd[k] += -bg;
        continue;
      }
      double a = eta[k - 1] - eta[k], le = log(eta[k]), x = T[t] - T[k - 1];
      double rho = exp(lC - ga * le), y = 1 + rho * x, F = exp(-be * log(y));
      double bFy = be * F / y, Gx = bFy * rho;
      gd[k] += -bg * (1 - F);
      if (a != 0) {
        gTt -= bg * a * Gx;
        gT[k - 1] += bg * a * Gx;
        /* ∂ρ/∂η_k = −γ ρ/η_k */
        geta[k] += bg * a * bFy * x * ga * rho / eta[k];
      }
    }
    gT[t] += gTt;
  }
  if (!st) {
    double acc = 0;
    for (size_t j = kmax + 1; j-- > 0;) {
      acc += gT[j];
      geta[j] += acc - gd[j] + gd[j + 1];
    }
  }
  free(T), free(gT), free(gd);
  return st;
}

static void mpl_guess(const double *T, const double *loss, size_t n, double *th) {
  double L0, c, e;
  schedopt_sx_powerlaw_guess(T, loss, n, 0.6, &L0, &c, &e);
  th[P_L0] = L0;
  th[P_A] = c;
  th[P_ALPHA] = e;
}

const schedopt_surrogate_type schedopt_sx_mpl_type = {
    "mpl",
    "L(t) = L0 + A*T(t)^-alpha - B*sum_k (eta_{k-1} - eta_k)"
    "(1 - (C eta_k^-gamma (T(t) - T(k-1)) + 1)^-beta)",
    NP,
    mpl_params,
    mpl_predict,
    mpl_grad_lr,
    mpl_guess};
const schedopt_surrogate_type *const schedopt_surrogate_mpl = &schedopt_sx_mpl_type;
