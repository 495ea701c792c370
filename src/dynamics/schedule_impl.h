/* schedule_impl.h — the layout of a schedule, shared by the library modules. */
#ifndef SCHEDOPT_SCHEDULE_IMPL_H
#define SCHEDOPT_SCHEDULE_IMPL_H

#include "schedopt/schedule.h"

struct schedopt_schedule {
  schedopt_clock clock;
  double horizon;
  double units_per_sample;             /* data clock: units (e.g. tokens) per sample */
  schedopt_control *ctl[SCHEDOPT_NCHANNELS]; /* owned, indexed by schedopt_channel */
  int has_momentum;                    /* momentum was set explicitly */
};

#endif
