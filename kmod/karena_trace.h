/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena tracepoints.  The TP_PROTOs are an interface: the eBPF tools
 * attach raw_tp programs to them, so keep argument order and types.  The
 * values they report (ops, states, fault kinds, drain reasons) are the
 * uapi's (uapi/karena.h lists the events with them).
 * Every event name carries the karena_ prefix (karena:karena_fault, raw
 * tracepoint karena_fault), as kvm's do: raw tracepoint names are global,
 * and a bare "fault" could be defined by any other module.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM karena

#if !defined(_KARENA_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KARENA_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(karena_transition,
	TP_PROTO(unsigned long start, unsigned long npages, unsigned int op,
		 unsigned int flags, int result),
	TP_ARGS(start, npages, op, flags, result),
	TP_STRUCT__entry(
		__field(unsigned long, start)
		__field(unsigned long, npages)
		__field(unsigned int, op)
		__field(unsigned int, flags)
		__field(int, result)
	),
	TP_fast_assign(
		__entry->start = start;
		__entry->npages = npages;
		__entry->op = op;
		__entry->flags = flags;
		__entry->result = result;
	),
	TP_printk("start=0x%lx npages=%lu op=%u flags=0x%x result=%d",
		  __entry->start, __entry->npages, __entry->op,
		  __entry->flags, __entry->result)
);

TRACE_EVENT(karena_fault,
	TP_PROTO(unsigned long address, unsigned int state, unsigned int kind),
	TP_ARGS(address, state, kind),
	TP_STRUCT__entry(
		__field(unsigned long, address)
		__field(unsigned int, state)
		__field(unsigned int, kind)
	),
	TP_fast_assign(
		__entry->address = address;
		__entry->state = state;
		__entry->kind = kind;
	),
	TP_printk("address=0x%lx state=%u kind=%u",
		  __entry->address, __entry->state, __entry->kind)
);

TRACE_EVENT(karena_cache_refill,
	TP_PROTO(int cpu, unsigned int npages, unsigned int cached),
	TP_ARGS(cpu, npages, cached),
	TP_STRUCT__entry(
		__field(int, cpu)
		__field(unsigned int, npages)
		__field(unsigned int, cached)
	),
	TP_fast_assign(
		__entry->cpu = cpu;
		__entry->npages = npages;
		__entry->cached = cached;
	),
	TP_printk("cpu=%d npages=%u cached=%u",
		  __entry->cpu, __entry->npages, __entry->cached)
);

TRACE_EVENT(karena_cache_drain,
	TP_PROTO(int cpu, unsigned int npages, unsigned int reason),
	TP_ARGS(cpu, npages, reason),
	TP_STRUCT__entry(
		__field(int, cpu)
		__field(unsigned int, npages)
		__field(unsigned int, reason)
	),
	TP_fast_assign(
		__entry->cpu = cpu;
		__entry->npages = npages;
		__entry->reason = reason;
	),
	TP_printk("cpu=%d npages=%u reason=%u",
		  __entry->cpu, __entry->npages, __entry->reason)
);

#endif /* _KARENA_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE karena_trace
#include <trace/define_trace.h>
