/*
 * pdf.c — the transcript as a PDF: pango lays out the text (any script the
 * installed fonts cover, bidirectional text, line breaking), cairo writes
 * A4 pages. Paragraphs are placed line by line, so a long one continues on
 * the next page; a heading is never left alone at the bottom of a page.
 * Every page carries the title at the top and its number at the bottom.
 */
#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "export/export.h"

#define PAGE_W	   595.276 /* A4 in points */
#define PAGE_H	   841.890
#define MARGIN	   56.0
#define HEADER_Y   30.0
#define FOOTER_Y   (PAGE_H - 28.0)
#define NAME_BYTES (TRANSCRIPT_NAME_MAX * 4 + 1)
#define FONT	   "DejaVu Sans"

struct pdf {
	cairo_surface_t *surface;
	cairo_t *cr;
	PangoFontMap
	    *fonts; /* our own: no per-thread default font map left behind in HTTP threads */
	PangoContext *ctx;
	struct buf out;
	bool write_failed;
	const char *title; /* valid UTF-8 */
	int page;	   /* 0 before the first */
	double y;
};

static cairo_status_t write_fn(void *closure, const unsigned char *data, unsigned int length)
{
	struct pdf *p = closure;
	if (buf_append(&p->out, data, length) < 0) {
		p->write_failed = true;
		return CAIRO_STATUS_WRITE_ERROR;
	}
	return CAIRO_STATUS_SUCCESS;
}

/* A one-line text at (x, y) in size pt, grey; right-aligned when right. */
static void small_text(struct pdf *p, const char *text, double x, double y, bool right)
{
	PangoLayout *l = pango_layout_new(p->ctx);
	PangoFontDescription *fd = pango_font_description_from_string(FONT " 8");
	int w, h;

	pango_layout_set_font_description(l, fd);
	pango_layout_set_text(l, text, -1);
	pango_layout_set_width(l, (int)((PAGE_W - 2 * MARGIN) * PANGO_SCALE));
	pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
	pango_layout_get_pixel_size(l, &w, &h);
	cairo_set_source_rgb(p->cr, 0.4, 0.4, 0.4);
	cairo_move_to(p->cr, right ? x - w : x, y - h / 2.0);
	pango_cairo_show_layout(p->cr, l);
	cairo_set_source_rgb(p->cr, 0, 0, 0);
	pango_font_description_free(fd);
	g_object_unref(l);
}

static void end_page(struct pdf *p)
{
	char num[32];
	if (!p->page)
		return;
	snprintf(num, sizeof num, "Page %d", p->page);
	small_text(p, num, PAGE_W - MARGIN, FOOTER_Y, true);
	cairo_show_page(p->cr);
}

static void new_page(struct pdf *p)
{
	end_page(p);
	p->page++;
	small_text(p, p->title, MARGIN, HEADER_Y, false);
	cairo_set_source_rgb(p->cr, 0.8, 0.8, 0.8);
	cairo_set_line_width(p->cr, 0.5);
	cairo_move_to(p->cr, MARGIN, HEADER_Y + 9);
	cairo_line_to(p->cr, PAGE_W - MARGIN, HEADER_Y + 9);
	cairo_stroke(p->cr);
	cairo_set_source_rgb(p->cr, 0, 0, 0);
	p->y = MARGIN;
}

/*
 * A paragraph in font (pango description) with an optional bold lead,
 * placed line by line; keep (points) asks for that much room below its
 * first line (a heading keeps with what follows).
 */
static void para(struct pdf *p, const char *font, const char *lead, const char *text, double after,
		 double keep)
{
	PangoLayout *l = pango_layout_new(p->ctx);
	PangoFontDescription *fd = pango_font_description_from_string(font);
	PangoAttrList *attrs = pango_attr_list_new();
	struct buf all = {0};
	char *fixed;
	PangoLayoutIter *it;
	bool first = true;

	fixed = utf8_dup_valid(text ? text : "");
	if (!fixed || buf_puts(&all, lead ? lead : "") < 0 || buf_puts(&all, fixed) < 0 ||
	    !all.data)
		goto out;
	for (char *c = all.data; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' '; /* one paragraph: no line feeds, no control characters */
	if (lead && *lead) {
		PangoAttribute *a = pango_attr_weight_new(PANGO_WEIGHT_BOLD);
		a->start_index = 0;
		a->end_index = (guint)strlen(lead);
		pango_attr_list_insert(attrs, a);
	}
	pango_layout_set_font_description(l, fd);
	pango_layout_set_width(l, (int)((PAGE_W - 2 * MARGIN) * PANGO_SCALE));
	pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_text(l, all.data, (int)all.len);
	pango_layout_set_attributes(l, attrs);
	it = pango_layout_get_iter(l);
	do {
		PangoRectangle logical;
		pango_layout_iter_get_line_extents(it, NULL, &logical);
		double lh = (double)logical.height / PANGO_SCALE;
		double base =
		    (double)(pango_layout_iter_get_baseline(it) - logical.y) / PANGO_SCALE;
		if (!p->page || p->y + lh + (first ? keep : 0) > PAGE_H - MARGIN)
			new_page(p);
		cairo_move_to(p->cr, MARGIN + (double)logical.x / PANGO_SCALE, p->y + base);
		pango_cairo_show_layout_line(p->cr, pango_layout_iter_get_line_readonly(it));
		p->y += lh;
		first = false;
	} while (pango_layout_iter_next_line(it));
	pango_layout_iter_free(it);
	p->y += after;
out:
	free(fixed);
	buf_free(&all);
	pango_attr_list_unref(attrs);
	pango_font_description_free(fd);
	g_object_unref(l);
}

static void heading(struct pdf *p, const char *text)
{
	p->y += 8;
	para(p, FONT " Bold 14", NULL, text, 6, 40);
}

static void stamp(double s, char out[24])
{
	char c[16];
	export_clock(s, c);
	snprintf(out, 24, "[%s] ", c);
}

static void items(struct pdf *p, const char *title, const json_t *section)
{
	const json_t *list = json_object_get(section, "items"), *it;
	size_t i;
	if (!json_array_size(list))
		return;
	heading(p, title);
	json_array_foreach(list, i, it)
	{
		const char *text = json_string_value(json_object_get(it, "text"));
		const char *who = json_string_value(json_object_get(it, "who"));
		const char *when = json_string_value(json_object_get(it, "when"));
		struct buf line = {0};
		char ts[24];
		stamp(json_number_value(json_object_get(it, "start")), ts);
		if (buf_puts(&line, text ? text : "") == 0 && (who || when))
			buf_printf(&line, " (%s%s%s)", who ? who : "", who && when ? ", " : "",
				   when ? when : "");
		para(p, FONT " 10", ts, line.data ? line.data : "", 4, 0);
		buf_free(&line);
	}
}

char *export_render_pdf(const struct transcript *t, const struct export_doc *doc, size_t *len)
{
	struct pdf p = {0};
	char *title = utf8_dup_valid(doc->title && *doc->title ? doc->title : "Transcript");
	char date[40], name[NAME_BYTES], ts[24];
	size_t *order = NULL;
	char *out = NULL;

	if (!title)
		return NULL;
	for (char *c = title; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	p.title = title;
	p.surface = cairo_pdf_surface_create_for_stream(write_fn, &p, PAGE_W, PAGE_H);
	if (cairo_surface_status(p.surface) != CAIRO_STATUS_SUCCESS)
		goto done;
	cairo_pdf_surface_set_metadata(p.surface, CAIRO_PDF_METADATA_TITLE, title);
	cairo_pdf_surface_set_metadata(p.surface, CAIRO_PDF_METADATA_CREATOR, "IAM");
	p.cr = cairo_create(p.surface);
	if (cairo_status(p.cr) != CAIRO_STATUS_SUCCESS)
		goto done;
	p.fonts = pango_cairo_font_map_new();
	p.ctx = p.fonts ? pango_font_map_create_context(p.fonts) : NULL;
	if (!p.ctx)
		goto done;
	pango_cairo_update_context(p.cr, p.ctx);
	para(&p, FONT " Bold 20", NULL, title, 6, 0);
	export_date(doc->date_ms, date);
	if (date[0])
		para(&p, FONT " 10", "Date: ", date, 2, 0);
	if (t->nspeakers) {
		struct buf who = {0};
		for (size_t k = 1; k <= t->nspeakers; k++) {
			export_speaker_name(t, k, name, sizeof name);
			buf_printf(&who, "%s%s", k > 1 ? ", " : "", name);
		}
		para(&p, FONT " 10", "Participants: ", who.data ? who.data : "", 2, 0);
		buf_free(&who);
	}
	if (doc->insights) {
		const json_t *sum = json_object_get(json_object_get(doc->insights, "summary"),
						    "sentences"),
			     *s;
		size_t i;
		if (json_array_size(sum))
			heading(&p, "Summary");
		json_array_foreach(sum, i, s)
		{
			stamp(json_number_value(json_object_get(s, "start")), ts);
			para(&p, FONT " 10", ts, json_string_value(json_object_get(s, "text")), 4,
			     0);
		}
		items(&p, "Action items", json_object_get(doc->insights, "action_items"));
		items(&p, "Decisions", json_object_get(doc->insights, "decisions"));
	}
	heading(&p, "Transcript");
	order = export_segment_order(t);
	if (t->nsegments && !order)
		goto done;
	for (size_t k = 0; k < t->nsegments; k++) {
		const struct transcript_segment *seg = &t->segments[order[k]];
		char lead[24 + NAME_BYTES + 4];
		if (!seg->text || !*seg->text)
			continue;
		stamp(seg->start, ts);
		export_speaker_name(t, seg->speaker, name, sizeof name);
		snprintf(lead, sizeof lead, "%s%s%s", ts, name, name[0] ? ": " : "");
		para(&p, FONT " 10", lead, seg->text, 5, 0);
	}
	end_page(&p);
	cairo_destroy(p.cr);
	p.cr = NULL;
	cairo_surface_finish(p.surface);
	if (cairo_surface_status(p.surface) != CAIRO_STATUS_SUCCESS || p.write_failed)
		goto done;
	if (len)
		*len = p.out.len;
	out = buf_steal(&p.out);
done:
	if (p.ctx)
		g_object_unref(p.ctx);
	if (p.fonts)
		g_object_unref(p.fonts);
	if (p.cr)
		cairo_destroy(p.cr);
	if (p.surface)
		cairo_surface_destroy(p.surface);
	buf_free(&p.out);
	free(order);
	free(title);
	return out;
}

void export_shutdown(void)
{
	cairo_debug_reset_static_data();
	FcFini();
}
