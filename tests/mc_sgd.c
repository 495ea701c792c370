/* Monte-Carlo SGD simulator for tests (see mc_sgd.h). */
