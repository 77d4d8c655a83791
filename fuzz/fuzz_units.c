/*
 * fuzz/fuzz_units.c - libFuzzer harness for the word parsers: units
 * (durations, percentages, sizes, rates, ports, addresses), the error-fault
 * words (errno names, DNS rcodes and domains, HTTP statuses and paths) and
 * cron lines.
 *
 * The first byte of the input picks the parser, the rest is its text (made
 * NUL-terminated; an embedded NUL ends it, as in argv). What parses is
 * formatted back where a formatter exists.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/cron.h"
#include "faultline/engine.h"
#include "faultline/errors.h"
#include "faultline/target.h"
#include "faultline/units.h"

enum {
	P_DURATION,
	P_DURATION_ZERO,
	P_PERCENT,
	P_SIZE,
	P_RATE,
	P_PORTS,
	P_CIDRS,
	P_HOSTS,
	P_ERRNO,
	P_DNS_RCODE,
	P_DNS_DOMAINS,
	P_HTTP_STATUS,
	P_HTTP_PATH,
	P_CRON,
	P__COUNT
};

static void parse(unsigned which, const char *t)
{
	struct fl_error err = {0};
	char buf[4096];
	uint64_t u64;
	uint32_t u32;
	int i;

	switch (which) {
	case P_DURATION:
	case P_DURATION_ZERO:
		if (!fl_parse_duration(t, "d", which == P_DURATION_ZERO, &u64, &err))
			fl_fmt_duration(u64, buf, sizeof(buf));
		break;
	case P_PERCENT:
		if (!fl_parse_percent(t, "p", &u32, &err))
			fl_fmt_percent(u32, buf, sizeof(buf));
		break;
	case P_SIZE:
		if (!fl_parse_size(t, "s", &u64, &err))
			fl_fmt_size(u64, buf, sizeof(buf));
		break;
	case P_RATE:
		if (!fl_parse_rate(t, "r", &u64, &err))
			fl_fmt_rate(u64, buf, sizeof(buf));
		break;
	case P_PORTS: {
		struct fl_port_set ps;

		memset(&ps, 0, sizeof(ps));
		if (!fl_parse_ports(t, "ports", &ps, &err)) {
			fl_fmt_ports(&ps, buf, sizeof(buf));
			(void)fl_ports_only_management(&ps);
		}
		break;
	}
	case P_CIDRS:
	case P_HOSTS: {
		struct fl_cidr c[FL_CIDRS_MAX];
		unsigned n = 0;

		memset(c, 0, sizeof(c));
		if (!fl_parse_cidrs(t, "cidr", which == P_HOSTS, c, &n, FL_CIDRS_MAX, &err))
			for (unsigned k = 0; k < n; k++)
				fl_fmt_cidr(&c[k], which == P_CIDRS, buf, sizeof(buf));
		break;
	}
	case P_ERRNO:
		if (!fl_parse_errno_name(t, "errno", &i, &err))
			(void)fl_errno_name(i);
		break;
	case P_DNS_RCODE:
		if (!fl_parse_dns_rcode(t, "rcode", &i, &err))
			(void)fl_dns_rcode_name(i);
		break;
	case P_DNS_DOMAINS: {
		/* appended to: start from a list that is there already, as a
		 * second --domain flag does */
		static char out[FL_DNS_DOMAINS_TEXT];

		out[0] = '\0';
		(void)fl_parse_dns_domains("example.com", "domain", out, &err);
		(void)fl_parse_dns_domains(t, "domain", out, &err);
		break;
	}
	case P_HTTP_STATUS:
		(void)fl_parse_http_status(t, "status", &i, &err);
		break;
	case P_HTTP_PATH: {
		char path[FL_HTTP_PATH_MAX + 1];

		(void)fl_parse_http_path(t, "path", path, &err);
		break;
	}
	case P_CRON: {
		struct fl_cron c;
		uint64_t next;

		if (!fl_cron_parse_msg(t, &c, buf, sizeof(buf)))
			/* 2024-03-31 00:30 UTC, near a DST change in many zones */
			(void)fl_cron_next(&c, 1711845000ull * 1000000000ull, &next);
		break;
	}
	}
	fl_error_str(&err, buf, sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *t;

	if (size < 1)
		return 0;
	t = malloc(size);
	if (!t)
		return 0;
	memcpy(t, data + 1, size - 1);
	t[size - 1] = '\0';
	parse(data[0] % P__COUNT, t);
	free(t);
	return 0;
}
