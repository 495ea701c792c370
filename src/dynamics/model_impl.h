/* Private: the model type tables, for the list in model.c. */
#ifndef SCHEDOPT_MODEL_IMPL_H
#define SCHEDOPT_MODEL_IMPL_H

#include "schedopt/model.h"

extern const schedopt_model_type schedopt_model_plrf_type;
extern const schedopt_model_type schedopt_model_fsl_type;

#endif
