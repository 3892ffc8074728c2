#include "billing/invoice_pdf.h"

#include <cairo-pdf.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "core/utf8.h"

#define A4_W   595.28
#define A4_H   841.89
#define MARGIN 56.0

void invoice_money(int64_t minor, char *out, size_t outlen)
{
	const char *sign = minor < 0 ? "-" : "";
	int64_t a = minor < 0 ? -minor : minor;
	snprintf(out, outlen, "%s%lld.%02lld", sign, (long long)(a / 100), (long long)(a % 100));
}

static cairo_status_t on_write(void *ctx, const unsigned char *data, unsigned int len)
{
	return buf_append(ctx, data, len) == 0 ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* Draw text (plain, never markup) at x, y in font; right-aligned to x when right. Returns its
 * height. */
static double text(cairo_t *cr, const char *font, double x, double y, const char *s, bool right)
{
	PangoLayout *l = pango_cairo_create_layout(cr);
	PangoFontDescription *fd = pango_font_description_from_string(font);
	pango_layout_set_font_description(l, fd);
	pango_font_description_free(fd);
	char safe[512];
	snprintf(safe, sizeof safe, "%s", s);
	utf8_sanitize(safe);
	pango_layout_set_text(l, safe, -1);
	int w, h;
	pango_layout_get_pixel_size(l, &w, &h);
	cairo_move_to(cr, right ? x - w : x, y);
	pango_cairo_show_layout(cr, l);
	g_object_unref(l);
	return h;
}

static void day(int64_t ms, char out[16])
{
	char t[40];
	time_rfc3339(ms, t, sizeof t);
	snprintf(out, 16, "%.10s", t);
}

char *invoice_pdf(const struct invoice *inv, const char *plan_name, const char *org_name,
		  size_t *len)
{
	struct buf b = {.limit = 8 << 20};
	*len = 0;
	cairo_surface_t *s = cairo_pdf_surface_create_for_stream(on_write, &b, A4_W, A4_H);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(s);
		buf_free(&b);
		return NULL;
	}
	char title[96];
	snprintf(title, sizeof title, "IAM invoice %s", inv->number);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "IAM");
	cairo_t *cr = cairo_create(s);
	cairo_set_source_rgb(cr, 0.1, 0.1, 0.12);

	char line[512], issued[16], from[16], to[16], money[48];
	day(inv->issued_at, issued);
	day(inv->period_start, from);
	day(inv->period_end, to);
	double y = MARGIN, right = A4_W - MARGIN;
	y += text(cr, "Sans Bold 22", MARGIN, y, "IAM — Intelligent Audio Management", false) + 4;
	y += text(cr, "Sans 10", MARGIN, y, "Transcription by the minute", false) + 28;
	snprintf(line, sizeof line, "Invoice %s", inv->number);
	y += text(cr, "Sans Bold 16", MARGIN, y, line, false) + 6;
	snprintf(line, sizeof line, "Issued %s", issued);
	y += text(cr, "Sans 10", MARGIN, y, line, false) + 18;
	y += text(cr, "Sans Bold 10", MARGIN, y, "Billed to", false) + 2;
	y += text(cr, "Sans 11", MARGIN, y, org_name && *org_name ? org_name : "—", false) + 28;

	/* The line items. */
	text(cr, "Sans Bold 10", MARGIN, y, "Description", false);
	y += text(cr, "Sans Bold 10", right, y, "Amount", true) + 4;
	cairo_set_line_width(cr, 0.8);
	cairo_move_to(cr, MARGIN, y);
	cairo_line_to(cr, right, y);
	cairo_stroke(cr);
	y += 8;
	snprintf(line, sizeof line, "%s plan, %s to %s", plan_name, from, to);
	text(cr, "Sans 11", MARGIN, y, line, false);
	invoice_money(inv->subtotal_minor, money, sizeof money);
	snprintf(line, sizeof line, "%s %s", inv->currency, money);
	y += text(cr, "Sans 11", right, y, line, true) + 10;
	if (inv->vat_percent > 0) {
		snprintf(line, sizeof line, "VAT %d%%", inv->vat_percent);
		text(cr, "Sans 11", MARGIN, y, line, false);
		invoice_money(inv->vat_minor, money, sizeof money);
		snprintf(line, sizeof line, "%s %s", inv->currency, money);
		y += text(cr, "Sans 11", right, y, line, true) + 10;
	}
	cairo_move_to(cr, MARGIN, y);
	cairo_line_to(cr, right, y);
	cairo_stroke(cr);
	y += 8;
	text(cr, "Sans Bold 12", MARGIN, y, inv->paid_at ? "Total paid" : "Total due", false);
	invoice_money(inv->total_minor, money, sizeof money);
	snprintf(line, sizeof line, "%s %s", inv->currency, money);
	y += text(cr, "Sans Bold 12", right, y, line, true) + 30;
	if (inv->paid_at)
		snprintf(line, sizeof line, "Paid through %s, reference %s.",
			 !strcmp(inv->provider, "paygate") ? "PayGate" : "Stripe",
			 inv->provider_ref);
	else /* a renewal issued ahead of its payment (billing/renewal.h) */
		snprintf(line, sizeof line, "Not paid yet: due by %s, through %s, reference %s.",
			 from, !strcmp(inv->provider, "paygate") ? "PayGate" : "Stripe",
			 inv->provider_ref);
	text(cr, "Sans 9", MARGIN, y, line, false);

	cairo_show_page(cr);
	cairo_destroy(cr);
	cairo_surface_finish(s);
	cairo_status_t st = cairo_surface_status(s);
	cairo_surface_destroy(s);
	if (st != CAIRO_STATUS_SUCCESS || !b.len) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return buf_steal(&b);
}
