/* surrogate_fsl.c — the fsl-llm surrogate (FSL eq. 30, model-size term
 * dropped; formula in schedopt/surrogate.h).
 *
 * Fast evaluation.  With a_i = (η_{i−1} − η_i)(c3 + T_i^−s) and the kernel
 * F(x) = (1 + c4 x)^−γ ≈ w_0 + Σ_j w_j e^{−q_j x} (w_0 = 1 − Σ w_j):
 *   D(k) = Σ_{i≤k} a_i (1 − F(T_k − T_i)) = Σ_j w_j (A(k) − E_j(k)),
 *   A(k) = Σ_{i≤k} a_i,   E_j(k) = Σ_{i≤k} a_i e^{−q_j (T_k − T_i)},
 * and E_j obeys E_j(k) = e^{−q_j η_k} E_j(k−1) + a_k.  The states are
 * kept at the current output step and take the sources of each interval
 * between two output steps as blocks (the engine of surrogate_impl.h: the
 * slow nodes by the block's Taylor moments, the fast ones source by
 * source); between output steps without a source they decay in one jump
 * (factors reused for a repeated gap).  The states are kept split,
 * a_i = c3·P-source + Q-source, with R (the ∂/∂s source −dη T^−s ln T) for
 * gradients (the loss alone: one measure, a_i); c4 and γ enter through the
 * weights only:
 *   ∂w_j/∂ln c4 = w_j (e^{v_j} − γ),  ∂w_j/∂γ = w_j (v_j − ψ(γ)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "surrogate/surrogate_impl.h"

enum { P_L0, P_C1, P_C2, P_C3, P_C4, P_S, P_GAMMA, NP };

static const schedopt_surrogate_param fsl_params[NP] = {
    {"L0", 2.0, 0, 1e6, 0, 20, 0, "irreducible loss", NULL},
    {"c1", 1.0, 0, 1e12, 1e-6, 1e4, 1, "amplitude of the power law in intrinsic time", NULL},
    {"c2", 300.0, 0, 1e12, 1e-3, 1e7, 1, "amplitude of the annealing (LR-drop) term", NULL},
    {"c3", 0.5, 0, 1e6, 1e-4, 1e4, 1, "constant part of the drop weight c3 + T^-s", NULL},
    {"c4", 300.0, 1e-12, 1e12, 1e-2, 1e6, 1, "rate of the drop response in intrinsic time", NULL},
    {"s", 0.5, 1e-3, 10, 0.02, 3, 0, "power-law exponent in intrinsic time", NULL},
    {"gamma", 0.6, 1e-4, 20, 1e-3, 10, 0, "exponent of the drop response (1 + c4 x)^-gamma", NULL},
};

/* Loss of the power-law part at T > 0 (with its θ-derivatives). */
static double powerlaw(const double *th, double T, double *d) {
  double lt = log(T), ts = exp(-th[P_S] * lt);
  if (d) {
    d[P_C1] = ts;
    d[P_S] = -th[P_C1] * ts * lt;
  }
  return th[P_L0] + th[P_C1] * ts;
}

static schedopt_status need_time(const double *T, const schedopt_surrogate_input *in,
                                 schedopt_error *err) {
  for (size_t m = 0; m < in->nout; m++)
    if (!(T[in->out[m]] > 0))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "fsl-llm: the loss at step %zu is infinite (no learning rate "
                                "before it: T = 0)",
                                in->out[m]);
  return SCHEDOPT_OK;
}

/* O(K·n) reference. */
static schedopt_status fsl_direct(const double *th, const schedopt_surrogate_input *in,
                                  const double *T, double *loss, double *dtheta) {
  const double *eta = in->lr;
  double c2 = th[P_C2], c3 = th[P_C3], c4 = th[P_C4], s = th[P_S], g = th[P_GAMMA];
  for (size_t m = 0; m < in->nout; m++) {
    size_t k = in->out[m];
    double d[NP] = {0};
    double L = powerlaw(th, T[k], d);
    double D = 0, dc3 = 0, ds = 0, dc4 = 0, dg = 0;
    for (size_t i = 1; i <= k; i++) {
      double de = eta[i - 1] - eta[i];
      if (de == 0) continue;
      double lt = log(T[i]), ts = exp(-s * lt), a = de * (c3 + ts);
      double x = T[k] - T[i], y = 1 + c4 * x, ly = log(y), F = exp(-g * ly);
      D += a * (1 - F);
      if (dtheta) {
        dc3 += de * (1 - F);
        ds += -de * ts * lt * (1 - F);
        dc4 += a * g * x * F / y; /* ∂(1 − F)/∂c4 = γ x y^{−γ−1} */
        dg += a * ly * F;         /* ∂(1 − F)/∂γ = ln y · y^−γ */
      }
    }
    loss[m] = L - c2 * D;
    if (dtheta) {
      double *r = dtheta + m * NP;
      r[P_L0] = 1;
      r[P_C1] = d[P_C1];
      r[P_C2] = -D;
      r[P_C3] = -c2 * dc3;
      r[P_C4] = -c2 * dc4;
      r[P_S] = d[P_S] - c2 * ds;
      r[P_GAMMA] = -c2 * dg;
    }
  }
  return SCHEDOPT_OK;
}

static schedopt_status fsl_fast(const double *th, const schedopt_surrogate_input *in,
                                const double *T, double tol, double *loss, double *dtheta,
                                schedopt_error *err) {
  const double *eta = in->lr;
  size_t kmax = in->out[in->nout - 1];
  double c2 = th[P_C2], c3 = th[P_C3], c4 = th[P_C4], s = th[P_S], g = th[P_GAMMA];
  sx_plan pl;
  if (schedopt_sx_make(&pl, g, tol, log(c4), log(c4), T[kmax]))
    return schedopt_error_set(err, SCHEDOPT_EINVAL,
                              "fsl-llm: cannot build the exponential sum for gamma = %g, "
                              "c4 = %g over T = %g (use the direct method)",
                              g, c4, T[kmax]);
  size_t J = pl.J, CH = SX_BLOCK;
  int grad = dtheta != NULL;
  size_t M = grad ? 3 : 1;
  /* tables (2J), w, dw/dln c4, dw/dγ, cuts X (4J); per block: d, ln T and
   * three columns of masses (loss only: the masses, then T^−s) */
  double *buf = malloc((6 * J + 5 * CH) * sizeof *buf);
  if (!buf) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  schedopt_sx_tables(&pl, buf);
  double *w = buf + 2 * J, *wr = w + J, *wg = wr + J, *X = wg + J, *d = X + J, *lt = d + CH;
  double *mm[SX_MAXM] = {lt + CH, lt + 2 * CH, lt + 3 * CH, NULL};
  schedopt_sx_weights(&pl, log(c4), w, grad ? wr : NULL, grad ? wg : NULL, NULL, NULL);
  /* a source's share below SX_CUT·tol at node j (relative to the source)
   * is dropped: q_j d > X_j = ln(w_j/(SX_CUT·tol)) */
  for (size_t j = 0; j < J; j++) X[j] = w[j] > SX_CUT * tol ? log(w[j] / (SX_CUT * tol)) : -1;
  sx_engine en;
  if (schedopt_sx_engine_init(&en, &pl, M, X, SX_CUT * tol, CH)) {
    free(buf);
    return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  }
  const double *const *mc = (const double *const *)mm;
  double Ptot = 0, Qtot = 0, Rtot = 0;
  size_t k = 1, tprev = 0;
  for (size_t m = 0; m < in->nout; m++) {
    size_t t = in->out[m];
    /* the states move to T(t); without a source in between, the rate is
     * constant and the gap (t − t')·η repeats exactly, so that the decay
     * factors are reused */
    while (k <= t && eta[k - 1] == eta[k]) k++;
    double dt = !m ? 0 : k > t ? (double)(t - tprev) * eta[t] : T[t] - T[tprev];
    if (k > t) schedopt_sx_engine_decay(&en, dt);
    /* the sources up to t, in blocks of at most CH */
    while (k <= t) {
      size_t nb = 0;
      for (; k <= t && nb < CH; k++) {
        double de = eta[k - 1] - eta[k];
        if (de == 0) continue;
        d[nb] = T[t] - T[k];
        lt[nb] = T[k];
        mm[0][nb] = de;
        nb++;
      }
      if (!nb) break;
      /* ln T and T^−s (in the second column), by the branch-free log and
       * exponential when in range (T grows along the block) */
      double *ts = mm[1];
      if (lt[0] >= 1e-300 && fabs(s * log(lt[0])) < 700 && fabs(s * log(lt[nb - 1])) < 700) {
        for (size_t i = 0; i < nb; i++) lt[i] = sx_log(lt[i]);
        for (size_t i = 0; i < nb; i++) ts[i] = sx_exp(-s * lt[i]);
      } else {
        for (size_t i = 0; i < nb; i++) {
          lt[i] = log(lt[i]);
          ts[i] = exp(-s * lt[i]);
        }
      }
      if (grad) {
        for (size_t i = 0; i < nb; i++) {
          mm[1][i] *= mm[0][i];
          mm[2][i] = -mm[1][i] * lt[i];
        }
      } else {
        for (size_t i = 0; i < nb; i++) mm[0][i] *= c3 + ts[i];
      }
      schedopt_sx_engine_add(&en, dt, nb, d, mc, 0, 0);
      dt = 0;
      Ptot += en.sum[0];
      if (grad) Qtot += en.sum[1], Rtot += en.sum[2];
    }
    tprev = t;
    double dd[NP] = {0};
    double L = powerlaw(th, T[t], dd);
    double D = 0;
    size_t Jl = en.any ? J : 0; /* (no source yet: no drop) */
    if (grad) {
      const double *P = en.phi[0], *Q = en.phi[1], *R = en.phi[2];
      double A = c3 * Ptot + Qtot, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, b0 = 0, b1 = 0,
             b2 = 0, b3 = 0, b4 = 0;
      size_t j = 0;
#ifdef SX_VEC
      {
        sx_v2 Av = v2_set(A, A), c3v = v2_set(c3, c3), Pt = v2_set(Ptot, Ptot),
              Rt = v2_set(Rtot, Rtot), s0 = v2_set(0, 0), s1 = s0, s2 = s0, s3 = s0, s4 = s0;
        for (; j + 2 <= Jl; j += 2) {
          sx_v2 Pj = v2_load(P + j), wj = v2_load(w + j);
          sx_v2 x = Av - (c3v * Pj + v2_load(Q + j));
          s0 += wj * x;
          s1 += wj * (Pt - Pj);
          s2 += wj * (Rt - v2_load(R + j));
          s3 += v2_load(wr + j) * x;
          s4 += v2_load(wg + j) * x;
        }
        a0 = s0[0], a1 = s1[0], a2 = s2[0], a3 = s3[0], a4 = s4[0];
        b0 = s0[1], b1 = s1[1], b2 = s2[1], b3 = s3[1], b4 = s4[1];
      }
#endif
      for (; j + 2 <= Jl; j += 2) { /* (two interleaved sums each, for speed) */
        double x = A - (c3 * P[j] + Q[j]), y = A - (c3 * P[j + 1] + Q[j + 1]);
        a0 += w[j] * x, b0 += w[j + 1] * y;
        a1 += w[j] * (Ptot - P[j]), b1 += w[j + 1] * (Ptot - P[j + 1]);
        a2 += w[j] * (Rtot - R[j]), b2 += w[j + 1] * (Rtot - R[j + 1]);
        a3 += wr[j] * x, b3 += wr[j + 1] * y;
        a4 += wg[j] * x, b4 += wg[j + 1] * y;
      }
      if (j < Jl) {
        double x = A - (c3 * P[j] + Q[j]);
        a0 += w[j] * x, a1 += w[j] * (Ptot - P[j]), a2 += w[j] * (Rtot - R[j]);
        a3 += wr[j] * x, a4 += wg[j] * x;
      }
      D = a0 + b0;
      double dc3 = a1 + b1, ds = a2 + b2, dc4 = a3 + b3, dg = a4 + b4;
      double *r = dtheta + m * NP;
      r[P_L0] = 1;
      r[P_C1] = dd[P_C1];
      r[P_C2] = -D;
      r[P_C3] = -c2 * dc3;
      r[P_C4] = -c2 * dc4 / c4;
      r[P_S] = dd[P_S] - c2 * ds;
      r[P_GAMMA] = -c2 * dg;
    } else {
      const double *P = en.phi[0];
      for (size_t j = 0; j < Jl; j++) D += w[j] * (Ptot - P[j]);
    }
    loss[m] = L - c2 * D;
  }
  schedopt_sx_engine_free(&en);
  free(buf);
  return SCHEDOPT_OK;
}

static schedopt_status fsl_predict(const double *th, const schedopt_surrogate_input *in,
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
    st = method == SCHEDOPT_SURROGATE_DIRECT ? fsl_direct(th, in, T, loss, dtheta)
                                             : fsl_fast(th, in, T, tol, loss, dtheta, err);
  free(Tm);
  return st;
}

/* ∂J/∂η by reverse accumulation of the direct sum: gT[k] = ∂J/∂T_k,
 * gd[i] = ∂J/∂(η_{i−1} − η_i); then ∂J/∂η_j = Σ_{k≥j} gT[k] − gd[j] + gd[j+1]. */
static schedopt_status fsl_grad_lr(const double *th, const schedopt_surrogate_input *in,
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
  double c1 = th[P_C1], c2 = th[P_C2], c3 = th[P_C3], c4 = th[P_C4], s = th[P_S],
         g = th[P_GAMMA];
  for (size_t m = 0; m < in->nout && !st; m++) {
    size_t k = in->out[m];
    double gm = gout[m];
    if (gm == 0) continue;
    gT[k] += gm * (-s * c1 * exp((-s - 1) * log(T[k])));
    /* one log and one exp per factor (pow is several times slower); the
     * terms of T_k are summed into gTk and added once */
    double cg = c2 * gm, gTk = 0;
    for (size_t i = 1; i <= k; i++) {
      double de = eta[i - 1] - eta[i], ts = exp(-s * log(T[i])), b = c3 + ts;
      double x = T[k] - T[i], y = 1 + c4 * x, F = exp(-g * log(y));
      gd[i] += -cg * b * (1 - F);
      if (de != 0) {
        double Fx = -g * c4 * F / y;
        gT[i] += -cg * de * ((-s * ts / T[i]) * (1 - F) + b * Fx);
        gTk += cg * de * b * Fx;
      }
    }
    gT[k] += gTk;
  }
  if (!st) {
    double acc = 0;
    for (size_t j = kmax + 1; j-- > 0;) {
      acc += gT[j];
      geta[j] = acc - gd[j] + gd[j + 1];
    }
  }
  free(T), free(gT), free(gd);
  return st;
}

/* L0, c1, s from a power law through the curve's first part. */
static void fsl_guess(const double *T, const double *loss, size_t n, double *th) {
  double L0, c, e;
  schedopt_sx_powerlaw_guess(T, loss, n, 0.6, &L0, &c, &e);
  th[P_L0] = L0;
  th[P_C1] = c;
  th[P_S] = e;
}

const schedopt_surrogate_type schedopt_sx_fsl_llm_type = {
    "fsl-llm",
    "L(k) = L0 + c1*T(k)^-s - c2*sum_i (eta_{i-1} - eta_i)(c3 + T(i)^-s)"
    "(1 - (1 + c4 (T(k) - T(i)))^-gamma)",
    NP,
    fsl_params,
    fsl_predict,
    fsl_grad_lr,
    fsl_guess};
const schedopt_surrogate_type *const schedopt_surrogate_fsl_llm = &schedopt_sx_fsl_llm_type;
