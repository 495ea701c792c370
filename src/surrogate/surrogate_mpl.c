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
 * With ζ_k = 1/ρ_k, w_{kj} e^{−q_j x} = (h/Γ(β)) (q_j ζ_k)^β e^{−q_j (x + ζ_k)}: to the
 * engine of surrogate_impl.h a source is a mass a_k (ζ_k/ζ_B)^β at the
 * distance x + ζ_k, with the block factor (h/Γ(β)) (q_j ζ_B)^β (ζ_B: the
 * block's largest ζ).  W sums Σ_j w_{kj} per source, a function of
 * s = ln ζ_k only: tabulated (below).  Gradients: C and γ move ln ρ_k
 * (∂ ln ρ/∂ ln C = 1, ∂ ln ρ/∂γ = −ln η_k), β moves the weights:
 *   ∂w/∂ln ρ = w (e^v − β),  ∂w/∂β = w (v − ψ(β)),
 * four measures: a (ζ/ζ_B)^β × {1, ζ, ln η, ζ ln η}.
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

/* ---- the sums of the weights over the nodes, as functions of s = ln(1/ρ)

   sw(s) = Σ_j f(v_j),  sr(s) = Σ_j f(v_j)(e^{v_j} − β),  sp(s) = Σ_j f(v_j)(v_j − ψ(β)),
   f(v) = h e^{βv − e^v}/Γ(β),  v_j = (jlo + j) h + s,  j < J:
   a source's Σ_j w_j, Σ_j ∂w_j/∂ln ρ and Σ_j ∂w_j/∂β.  They are tabulated on
   a grid of step ds = h/WT_SUB over the sources' range of s with their first
   two derivatives (sw' = −sr, sw'' = −sr', sp', sp''), all from one lattice
   of f at the spacing ds (the grid shifted by whole nodes), and interpolated
   by quintic Hermite polynomials: error ≤ ds^6 max|g^(6)|/46080.  Over the
   nodes' range the sums are the constant 1 of the trapezoid rule plus its
   Poisson ripple (period h, below tol/80 by the choice of h) and the tails
   beyond the first and the last node (below tol by the choice of the
   range), whose sixth derivatives are at most of order e^{6v}·f(v) ≤ U^7·tol
   at the top: with ds = h/6 ≤ 0.1 the interpolation error stays below
   1e-3·tol there (and far below elsewhere). */
#define WT_SUB 6
#define WT_MAX 200000 /* grid points; a wider range (or few sources) takes the sums directly */

typedef struct wtab {
  double s0, ids;
  size_t n;     /* intervals */
  double *c;    /* per interval: sw, sr, sp as polynomials of degree 5 in the
                   offset u in [0, 1) (6 coefficients each, from u^0 up) */
} wtab;

/* Lattice values at v: f, f L, f(L² − u), f(−L³ + 3Lu + u), f(v − ψ),
 * f(L(v − ψ) + 1), f(L P + L − u(v − ψ)) with u = e^v, L = β − u, P = L(v − ψ) + 1
 * (sw, sw' = −sr, sw'' = −sr', sr'', sp, sp', sp''). */
static void wlat(double v, double be, double c, double psi, double *o) {
  double u = exp(v), f = exp(c + be * v - u), L = be - u, w = v - psi, P = L * w + 1;
  o[0] = f;
  o[1] = f * L;
  o[2] = f * (L * L - u);
  o[3] = f * (-L * L * L + 3 * L * u + u);
  o[4] = f * w;
  o[5] = f * P;
  o[6] = f * (L * P + L - u * w);
}

/* The quintic Hermite interpolant on [0, 1] of values p0, p1, derivatives
 * d0, d1 and second derivatives e0, e1 (in u), in powers of u. */
static void hermite5(double p0, double p1, double d0, double d1, double e0, double e1,
                     double *c) {
  c[0] = p0;
  c[1] = d0;
  c[2] = 0.5 * e0;
  c[3] = 10 * (p1 - p0) - 6 * d0 - 4 * d1 - 1.5 * e0 + 0.5 * e1;
  c[4] = 15 * (p0 - p1) + 8 * d0 + 7 * d1 + 1.5 * e0 - e1;
  c[5] = 6 * (p1 - p0) - 3 * (d0 + d1) - 0.5 * (e0 - e1);
}

/* 0, or −1 when out of memory, or the range too wide, or the table dearer
 * than the sums of nsrc sources taken directly (t->c = NULL). */
static int wtab_build(wtab *t, const sx_plan *pl, double be, double smin, double smax,
                      size_t nsrc) {
  double ds = pl->h / WT_SUB, ds2 = ds * ds;
  t->c = NULL;
  t->ids = 1 / ds;
  t->s0 = smin - ds;
  double span = (smax - t->s0) / ds + 2;
  if (!(span < WT_MAX) || (double)nsrc * (double)pl->J <= (double)(pl->J * WT_SUB) + span)
    return -1;
  size_t n = (size_t)span + 1, J = pl->J, L = (J - 1) * WT_SUB + n;
  t->n = n - 1;
  double *lat = malloc(7 * L * sizeof *lat), *g = calloc(7 * n, sizeof *g),
         *c = malloc(18 * (n - 1) * sizeof *c);
  if (!lat || !g || !c) {
    free(lat), free(g), free(c);
    return -1;
  }
  double cf = log(pl->h) - pl->lgp, v0 = pl->jlo * pl->h + t->s0;
  for (size_t l = 0; l < L; l++) wlat(v0 + (double)l * ds, be, cf, pl->psi, lat + 7 * l);
  /* grid point i sums the lattice at i, i + WT_SUB, …, i + (J−1) WT_SUB: the
   * first point of each residue directly, the next ones by a sliding window */
  for (size_t i = 0; i < n; i++) {
    double *gi = g + 7 * i;
    if (i < WT_SUB) {
      for (size_t j = 0; j < J; j++)
        for (int a = 0; a < 7; a++) gi[a] += lat[7 * (i + j * WT_SUB) + a];
    } else {
      const double *gp = g + 7 * (i - WT_SUB), *out = lat + 7 * (i - WT_SUB),
                   *in = lat + 7 * (i + (J - 1) * WT_SUB);
      for (int a = 0; a < 7; a++) gi[a] = gp[a] + in[a] - out[a];
    }
  }
  for (size_t i = 0; i + 1 < n; i++) {
    const double *a = g + 7 * i, *b = a + 7;
    hermite5(a[0], b[0], a[1] * ds, b[1] * ds, a[2] * ds2, b[2] * ds2, c + 18 * i);
    hermite5(-a[1], -b[1], -a[2] * ds, -b[2] * ds, a[3] * ds2, b[3] * ds2, c + 18 * i + 6);
    hermite5(a[4], b[4], a[5] * ds, b[5] * ds, a[6] * ds2, b[6] * ds2, c + 18 * i + 12);
  }
  free(lat), free(g);
  t->c = c;
  return 0;
}

/* The weight sums of n sources at s[k] (drops a[k], ln η in le[k]) into
 * acc: Σ a sw, and with grad Σ a sr, −Σ ln η a sr, Σ a sp.  Sources of one
 * interval in a row share its polynomials (a smooth schedule's block falls
 * in one or two). */
static void wtab_acc(const wtab *t, size_t n, const double *s, const double *a,
                     const double *le, int grad, double *ux, double *v0, double *v1,
                     double *v2, double *acc) {
  for (size_t k = 0; k < n; k++) {
    double x = (s[k] - t->s0) * t->ids;
    ux[k] = x;
  }
  size_t k = 0;
  while (k < n) {
    size_t i = (size_t)ux[k], e = k + 1;
    if (i >= t->n) i = t->n - 1;
    while (e < n && (size_t)ux[e] == i) e++;
    const double *c = t->c + 18 * i;
    double fi = (double)i;
    for (size_t m = k; m < e; m++) {
      double u = ux[m] - fi;
      v0[m] = c[0] + u * (c[1] + u * (c[2] + u * (c[3] + u * (c[4] + u * c[5]))));
    }
    if (grad)
      for (size_t m = k; m < e; m++) {
        double u = ux[m] - fi;
        v1[m] = c[6] + u * (c[7] + u * (c[8] + u * (c[9] + u * (c[10] + u * c[11]))));
        v2[m] = c[12] + u * (c[13] + u * (c[14] + u * (c[15] + u * (c[16] + u * c[17]))));
      }
    k = e;
  }
  acc[0] += sx_dot(a, v0, n);
  if (grad) {
    acc[1] += sx_dot(a, v1, n);
    acc[3] += sx_dot(a, v2, n);
    for (size_t m = 0; m < n; m++) v1[m] *= a[m];
    acc[2] -= sx_dot(le, v1, n);
  }
}

/* The three sums directly (J exponentials; for ranges too wide to tabulate). */
static void wsum_direct(const sx_plan *pl, double be, double s, double *sw, double *sr,
                        double *sp) {
  double c = log(pl->h) - pl->lgp, a = 0, b = 0, d = 0;
  for (size_t j = 0; j < pl->J; j++) {
    double v = (pl->jlo + (double)j) * pl->h + s, u = exp(v), f = exp(c + be * v - u);
    a += f, b += f * (u - be), d += f * (v - pl->psi);
  }
  *sw = a;
  if (sr) *sr = b;
  if (sp) *sp = d;
}

/* Relevance cut: a pair (source, node) at q_j d = X adds at most
 * (h/Γ(β)) X^β e^{−X} of its source (u = q_j ζ ≤ X): dropped when that is
 * below eps, i.e. beyond the root X* > β of ln(h/Γ(β)) + β ln X − X = ln eps. */
static double mpl_cut(const sx_plan *pl, double be, double eps) {
  double c = log(pl->h) - pl->lgp - log(eps), X = be > 1 ? be : 1;
  if (c + be * log(X) - X <= 0) return X;
  X += 50 + c;
  for (int it = 0; it < 60; it++) {
    double g = c + be * log(X) - X, Xn = X + g / (1 - be / X);
    if (fabs(Xn - X) <= 1e-12 * X) {
      X = Xn;
      break;
    }
    X = Xn;
  }
  return X * (1 + 1e-12) + 1e-12;
}

static schedopt_status mpl_fast(const double *th, const schedopt_surrogate_input *in,
                                const double *T, double tol, double *loss, double *dtheta,
                                schedopt_error *err) {
  const double *eta = in->lr;
  size_t kmax = in->out[in->nout - 1];
  double B = th[P_B], C = th[P_C], be = th[P_BETA], ga = th[P_GAMMA], lC = log(C);
  int grad = dtheta != NULL;
  size_t M = grad ? 4 : 1, CH = SX_BLOCK;
  /* range of ln ρ over the sources */
  double emin = INFINITY, emax = 0;
  size_t nsrc = 0;
  for (size_t k = 1; k <= kmax; k++) {
    double e = eta[k], lo = eta[k - 1] != e && e > 0 ? e : INFINITY;
    emin = lo < emin ? lo : emin;
    emax = lo != INFINITY && e > emax ? e : emax;
    nsrc += lo != INFINITY;
  }
  size_t J = 0;
  sx_plan pl;
  memset(&pl, 0, sizeof pl);
  if (emax > 0) {
    double l1 = lC - ga * log(emax), l2 = lC - ga * log(emin);
    if (schedopt_sx_make(&pl, be, tol, fmin(l1, l2), fmax(l1, l2), T[kmax]))
      return schedopt_error_set(err, SCHEDOPT_EINVAL,
                                "mpl: cannot build the exponential sum for beta = %g, C = %g, "
                                "gamma = %g (use the direct method)",
                                be, C, ga);
    J = pl.J;
  }
  /* tables (2J), cuts (J); per block: d, ln η, s, a, four columns of masses
   * and four of scratch */
  double *buf = malloc((3 * (J ? J : 1) + 12 * CH) * sizeof *buf);
  if (!buf) return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
  double *X = buf + 2 * J, *d = X + (J ? J : 1), *le = d + CH, *sv = le + CH, *av = sv + CH;
  double *mm[SX_MAXM] = {av + CH, av + 2 * CH, av + 3 * CH, av + 4 * CH}, *scr = av + 5 * CH;
  const double *const *mc = (const double *const *)mm;
  wtab wt = {0, 0, 0, NULL};
  sx_engine en;
  memset(&en, 0, sizeof en);
  int direct_w = 0;
  if (J) {
    schedopt_sx_tables(&pl, buf);
    double xs = mpl_cut(&pl, be, SX_CUT * tol);
    for (size_t j = 0; j < J; j++) X[j] = xs;
    double s1 = ga * log(emin) - lC, s2 = ga * log(emax) - lC;
    direct_w = wtab_build(&wt, &pl, be, fmin(s1, s2), fmax(s1, s2), nsrc) != 0;
    if (schedopt_sx_engine_init(&en, &pl, M, X, SX_CUT * tol, CH)) {
      free(wt.c), free(buf);
      return schedopt_error_set(err, SCHEDOPT_ENOMEM, "out of memory");
    }
  }
  double lnh = J ? log(pl.h) - pl.lgp : 0, psi = pl.psi, W = 0, Wr = 0, Wg = 0, Wp = 0,
         full = 0, rmax = be * ga > 0 ? exp(fmin(600 / (be * ga), 700)) : INFINITY;
  size_t k = 1, tprev = 0;
  for (size_t m = 0; m < in->nout; m++) {
    size_t t = in->out[m];
    /* the states move to T(t) (see surrogate_fsl.c) */
    while (k <= t && eta[k - 1] == eta[k]) k++;
    double dt = !m ? 0 : k > t ? (double)(t - tprev) * eta[t] : T[t] - T[tprev];
    if (J) schedopt_sx_engine_decay(&en, dt);
    while (k <= t) {
      /* a block of sources: steps with a_k = η_{k−1} − η_k ≠ 0 and η_k > 0
       * (η_k = 0 is a full drop, G = 1) */
      size_t nb = 0;
      int tiny = 0;
      double emn = INFINITY, emx = 0;
      for (; k <= t && nb < CH; k++) {
        double a = eta[k - 1] - eta[k], ek = eta[k];
        if (a == 0) continue;
        if (!(ek > 0)) {
          full += a;
          continue;
        }
        /* a block keeps β·(spread of ln ζ) = βγ ln(η_max/η_min) ≤ 600, so
         * that the masses' factors (ζ_k/ζ_B)^β stay in range */
        emn = ek < emn ? ek : emn;
        emx = ek > emx ? ek : emx;
        if (nb && emx > emn * rmax) break;
        tiny |= ek < 1e-300;
        le[nb] = ek;
        d[nb] = T[t] - T[k - 1];
        av[nb] = a;
        nb++;
      }
      if (!nb) break;
      if (tiny) /* (denormal rates) */
        for (size_t i = 0; i < nb; i++) le[i] = log(le[i]);
      else
        for (size_t i = 0; i < nb; i++) le[i] = sx_log(le[i]);
      for (size_t i = 0; i < nb; i++) sv[i] = ga * le[i] - lC;
      double sB = sv[0], sA = sv[0];
      for (size_t i = 1; i < nb; i++) {
        sB = sv[i] > sB ? sv[i] : sB;
        sA = sv[i] < sA ? sv[i] : sA;
      }
      /* ζ = e^s, masses a (ζ/ζ_B)^β × {1, ζ, ln η, ζ ln η}, distances x + ζ
       * (β (s − s_B) ≥ −600 in a block) */
      double *zt = mm[1], *mt = mm[0];
      if (sA >= -700 && sB <= 700)
        for (size_t i = 0; i < nb; i++) zt[i] = sx_exp(sv[i]);
      else
        for (size_t i = 0; i < nb; i++) zt[i] = sx_exp_c(sv[i]);
      for (size_t i = 0; i < nb; i++) {
        mt[i] = av[i] * sx_exp(be * (sv[i] - sB));
        d[i] += zt[i];
      }
      if (grad)
        for (size_t i = 0; i < nb; i++) {
          mm[1][i] = mt[i] * zt[i];
          mm[2][i] = mt[i] * le[i];
          mm[3][i] = mm[1][i] * le[i];
        }
      /* W: the sums of the weights */
      if (direct_w) {
        for (size_t i = 0; i < nb; i++) {
          double sw, sr, sp;
          wsum_direct(&pl, be, sv[i], &sw, grad ? &sr : NULL, grad ? &sp : NULL);
          W += av[i] * sw;
          if (grad) {
            Wr += av[i] * sr;
            Wg -= le[i] * av[i] * sr;
            Wp += av[i] * sp;
          }
        }
      } else {
        double acc[4] = {W, Wr, Wg, Wp};
        wtab_acc(&wt, nb, sv, av, le, grad, scr, scr + CH, scr + 2 * CH, scr + 3 * CH, acc);
        W = acc[0], Wr = acc[1], Wg = acc[2], Wp = acc[3];
      }
      schedopt_sx_engine_add(&en, 0, nb, d, mc, be, be * sB + lnh);
    }
    tprev = t;
    double dd[NP] = {0};
    double L = powerlaw(th, T[t], dd);
    double S = 0, Sr = 0, Sg = 0, Sp = 0;
    if (J && en.any) {
      const double *q = pl.q, *lq = en.lnq, *P1 = en.phi[0];
      size_t j = 0;
      if (!grad) {
        double s0 = 0, s1 = 0;
        for (; j + 2 <= J; j += 2) s0 += P1[j], s1 += P1[j + 1];
        S = s0 + s1 + (j < J ? P1[j] : 0);
      } else {
        /* S = Σ Φ1, Sr = Σ q Φ2 − β S, Sg = −(Σ q Φ4 − β Σ Φ3),
         * Sp = Σ (ln q − ln C − ψ) Φ1 + γ Σ Φ3 */
        const double *P2 = en.phi[1], *P3 = en.phi[2], *P4 = en.phi[3];
        double a[5] = {0}, b[5] = {0};
#ifdef SX_VEC
        sx_v2 s0 = v2_set(0, 0), s1 = s0, s2 = s0, s3 = s0, s4 = s0;
        for (; j + 2 <= J; j += 2) {
          sx_v2 qj = v2_load(q + j), p1 = v2_load(P1 + j);
          s0 += p1;
          s1 += qj * v2_load(P2 + j);
          s2 += qj * v2_load(P4 + j);
          s3 += v2_load(P3 + j);
          s4 += v2_load(lq + j) * p1;
        }
        a[0] = s0[0], a[1] = s1[0], a[2] = s2[0], a[3] = s3[0], a[4] = s4[0];
        b[0] = s0[1], b[1] = s1[1], b[2] = s2[1], b[3] = s3[1], b[4] = s4[1];
#endif
        for (; j < J; j++) {
          a[0] += P1[j], a[1] += q[j] * P2[j], a[2] += q[j] * P4[j], a[3] += P3[j];
          a[4] += lq[j] * P1[j];
        }
        S = a[0] + b[0];
        double S3 = a[3] + b[3];
        Sr = (a[1] + b[1]) - be * S;
        Sg = -((a[2] + b[2]) - be * S3);
        Sp = (a[4] + b[4]) - (lC + psi) * S + ga * S3;
      }
    }
    double LD = W - S + full;
    loss[m] = L - B * LD;
    if (grad) {
      double *r = dtheta + m * NP;
      r[P_L0] = 1;
      r[P_A] = dd[P_A];
      r[P_ALPHA] = dd[P_ALPHA];
      r[P_B] = -LD;
      r[P_C] = -B * (Wr - Sr) / C;
      r[P_BETA] = -B * (Wp - Sp);
      r[P_GAMMA] = -B * (Wg - Sg);
    }
  }
  if (J) schedopt_sx_engine_free(&en);
  free(wt.c);
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
