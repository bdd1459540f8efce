// SPDX-License-Identifier: GPL-2.0
/* karena: tracepoint definitions (see karena_trace.h). */
#define CREATE_TRACE_POINTS
#include "karena_trace.h"
