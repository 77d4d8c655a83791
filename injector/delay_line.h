/*
 * injector/delay_line.h - the user-space half of the egress delay line.
 *
 * The classifier copies each delayed frame, with its due time, into the
 * BPF ring buffer fl_delay_rb and sinks the original (the sender sees a
 * successful send). One thread per engine consumes the ring, holds the
 * frames in a min-heap ordered by (due time, arrival), and sends each at its
 * due time on an AF_PACKET socket with PACKET_VNET_HDR (checksum offload and
 * GSO state restored) and SO_MARK = FL_DELAY_MARK, which the classifier
 * passes. See docs/delay.md.
 */
#ifndef FL_INJECTOR_DELAY_LINE_H
#define FL_INJECTOR_DELAY_LINE_H

#include <stdint.h>

#include "faultline/engine.h"

struct fl_delay_line;

/* Start the thread on the ring buffer map rb_fd. */
int fl_delay_line__start(int rb_fd, unsigned rank, struct fl_delay_line **out);

/* A new rule id: zero its counters, hold at most limit of its frames. */
void fl_delay_line__reset_rule(struct fl_delay_line *dl, int rule, uint32_t limit);

void fl_delay_line__stats(struct fl_delay_line *dl, int rule, struct fl_delay_stats *out);

/* Stop the thread: frames still in the ring or held are sent at once
 * (released early rather than lost), then everything is freed. */
void fl_delay_line__stop(struct fl_delay_line *dl);

#endif
