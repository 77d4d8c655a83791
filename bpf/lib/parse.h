/*
 * bpf/lib/parse.h - packet parsing for the classifier.
 *
 * Ethernet (one optional 802.1Q tag), IPv4 and IPv6 (a bounded walk over at
 * most FL_IPV6_EXT_MAX extension headers), then the TCP/UDP ports. Anything
 * malformed or truncated makes fl_parse() fail, and the caller passes the
 * packet unchanged: a parser bug must never drop traffic nobody targeted.
 *
 * Direct packet access is used (no helper call per field). When the headers
 * are not in the linear area (rare: some GSO/GRO layouts) one
 * bpf_skb_pull_data() brings them in and the parse is retried once.
 */
#ifndef FL_BPF_PARSE_H
#define FL_BPF_PARSE_H

#include "faultline/rule.h"

#define FL_ETH_P_IP	  0x0800
#define FL_ETH_P_IPV6	  0x86DD
#define FL_ETH_P_8021Q	  0x8100
#define FL_ETH_P_8021AD	  0x88A8
#define FL_IPPROTO_ICMPV6 58
#define FL_IPV6_EXT_MAX	  4
/* Enough for Ethernet + VLAN + IPv6 + 4 extension headers + ports. */
#define FL_PULL_LEN 128

struct fl_pkt {
	__u32 saddr[4]; /* network order; IPv4 in [0] */
	__u32 daddr[4];
	__u16 sport; /* host order; 0 when the packet has no ports (ICMP, fragment) */
	__u16 dport;
	__u8 proto_class; /* enum fl_proto_class */
	__u8 l4proto;	  /* IP protocol number */
	__u8 family;	  /* 4 or 6 */
	__u8 has_l4;	  /* the L4 header is in this packet (not a later fragment) */
	__u16 l4_off;	  /* offset of the L4 header from the start of the frame */
	__u16 l3_off;	  /* offset of the IP header from the start of the frame */
};

static __always_inline int fl_proto_class_of(__u8 proto)
{
	switch (proto) {
	case 6: /* IPPROTO_TCP */
		return FL_PROTO_TCP;
	case 17: /* IPPROTO_UDP */
		return FL_PROTO_UDP;
	case 1: /* IPPROTO_ICMP */
	case FL_IPPROTO_ICMPV6:
		return FL_PROTO_ICMP;
	default:
		return FL_PROTO_OTHER;
	}
}

/* Returns 0 and fills pkt, 1 when the packet is not IP (never matched), or
 * -1 when it is malformed or its headers are not in the linear area. */
static __always_inline int fl_parse_once(struct __sk_buff *skb, struct fl_pkt *pkt)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	void *cur = data + sizeof(*eth);
	__u16 h_proto;
	__u8 l4 = 0;
	int frag = 0;

	if (cur > data_end)
		return -1;
	h_proto = eth->h_proto;
	if (h_proto == bpf_htons(FL_ETH_P_8021Q) || h_proto == bpf_htons(FL_ETH_P_8021AD)) {
		struct vlan_hdr {
			__be16 tci;
			__be16 proto;
		} *vh = cur;

		if ((void *)(vh + 1) > data_end)
			return -1;
		h_proto = vh->proto;
		cur = vh + 1;
	}

	pkt->l3_off = (__u16)(cur - data);
	if (h_proto == bpf_htons(FL_ETH_P_IP)) {
		struct iphdr *ip = cur;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return -1;
		ihl = ip->ihl * 4;
		if (ip->version != 4 || ihl < sizeof(*ip))
			return -1;
		l4 = ip->protocol;
		/* a non-first fragment carries no L4 header */
		frag = (ip->frag_off & bpf_htons(0x1FFF)) != 0;
		cur = (void *)ip + ihl;
		pkt->family = 4;
		pkt->saddr[0] = ip->saddr;
		pkt->daddr[0] = ip->daddr;
		pkt->saddr[1] = pkt->saddr[2] = pkt->saddr[3] = 0;
		pkt->daddr[1] = pkt->daddr[2] = pkt->daddr[3] = 0;
	} else if (h_proto == bpf_htons(FL_ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = cur;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		if (ip6->version != 6)
			return -1;
		__builtin_memcpy(pkt->saddr, &ip6->saddr, 16);
		__builtin_memcpy(pkt->daddr, &ip6->daddr, 16);
		l4 = ip6->nexthdr;
		cur = ip6 + 1;
#pragma unroll
		for (int i = 0; i < FL_IPV6_EXT_MAX; i++) {
			struct ipv6_opt_hdr *opt = cur;

			if (l4 == 44) { /* fragment header: 8 bytes */
				struct frag_hdr {
					__u8 nexthdr;
					__u8 reserved;
					__be16 frag_off;
					__be32 identification;
				} *fh = cur;

				if ((void *)(fh + 1) > data_end)
					return -1;
				frag = (fh->frag_off & bpf_htons(0xFFF8)) != 0;
				l4 = fh->nexthdr;
				cur = fh + 1;
				continue;
			}
			if (l4 != 0 && l4 != 43 && l4 != 60) /* hop-by-hop, routing, dstopts */
				break;
			if ((void *)(opt + 1) > data_end)
				return -1;
			l4 = opt->nexthdr;
			cur = (void *)opt + (opt->hdrlen + 1) * 8;
		}
		if (l4 == 0 || l4 == 43 || l4 == 60 || l4 == 44)
			return -1; /* more extension headers than we walk */
		pkt->family = 6;
	} else {
		return 1;
	}

	pkt->l4proto = l4;
	pkt->proto_class = fl_proto_class_of(l4);
	pkt->sport = 0;
	pkt->dport = 0;
	pkt->has_l4 = !frag;
	pkt->l4_off = (__u16)(cur - data);
	if (!frag && (l4 == 6 || l4 == 17)) {
		__be16 *ports = cur;

		if ((void *)(ports + 2) > data_end)
			return -1;
		pkt->sport = bpf_ntohs(ports[0]);
		pkt->dport = bpf_ntohs(ports[1]);
	}
	return 0;
}

static __always_inline int fl_parse(struct __sk_buff *skb, struct fl_pkt *pkt)
{
	int r = fl_parse_once(skb, pkt);

	if (r >= 0)
		return r;
	/* Headers outside the linear area: pull them in once and retry. */
	if (skb->data_end - skb->data >= skb->len)
		return -1; /* truly truncated */
	if (bpf_skb_pull_data(skb, skb->len < FL_PULL_LEN ? skb->len : FL_PULL_LEN))
		return -1;
	return fl_parse_once(skb, pkt);
}

#endif
