/* schedopt/schedopt.h — everything: include this one header. */
#ifndef SCHEDOPT_SCHEDOPT_H
#define SCHEDOPT_SCHEDOPT_H

#include "schedopt/version.h"
#include "schedopt/error.h"
#include "schedopt/control.h"
#include "schedopt/schedule.h"
#include "schedopt/trainer.h"
#include "schedopt/model.h"
#include "schedopt/integrator.h"
#include "schedopt/problem.h"
#include "schedopt/optimize.h"
#include "schedopt/export.h"
#include "schedopt/plot.h"
#include "schedopt/losscurve.h"
#include "schedopt/surrogate.h"
#include "schedopt/fit.h"
#include "schedopt/design.h"
#include "schedopt/sweep.h"

#endif
