/*
 * docx.c — the transcript as a Word document (OOXML WordprocessingML),
 * written into a zip in memory with libzip.
 *
 * Parts: [Content_Types].xml, _rels/.rels, docProps/core.xml (the title),
 * word/document.xml, word/styles.xml (Title, Heading 1, Normal) and
 * word/_rels/document.xml.rels. Text is XML-escaped, with characters XML
 * 1.0 forbids (C0 controls but tab, line feed, carriage return; U+FFFE,
 * U+FFFF) dropped and
 * invalid UTF-8 repaired, so Word and LibreOffice open every file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "export/export.h"

#define NAME_MAX_BYTES (TRANSCRIPT_NAME_MAX * 4 + 1)

/* Append s XML-escaped. 0 or -1. */
static int put_esc(struct buf *b, const char *s)
{
	char *fixed = utf8_dup_valid(s ? s : "");
	int rc = 0;

	if (!fixed)
		return -1;
	for (const char *p = fixed; *p && !rc; p++) {
		unsigned char c = (unsigned char)*p;
		switch (c) {
		case '&':
			rc = buf_puts(b, "&amp;");
			break;
		case '<':
			rc = buf_puts(b, "&lt;");
			break;
		case '>':
			rc = buf_puts(b, "&gt;");
			break;
		case '"':
			rc = buf_puts(b, "&quot;");
			break;
		case '\n':
		case '\r':
		case '\t':
			rc = buf_puts(b, " ");
			break;
		default:
			/* U+FFFE and U+FFFF are not XML characters either */
			if (c == 0xEF && (unsigned char)p[1] == 0xBF &&
			    ((unsigned char)p[2] == 0xBE || (unsigned char)p[2] == 0xBF))
				p += 2;
			else if (c >= 0x20)
				rc = buf_append(b, p, 1);
		}
	}
	free(fixed);
	return rc;
}

/* A paragraph: optional style, an optional bold lead, then text. */
static int para(struct buf *b, const char *style, const char *bold, const char *text)
{
	if (buf_puts(b, "<w:p>") < 0)
		return -1;
	if (style && buf_printf(b, "<w:pPr><w:pStyle w:val=\"%s\"/></w:pPr>", style) < 0)
		return -1;
	if (bold && *bold &&
	    (buf_puts(b, "<w:r><w:rPr><w:b/></w:rPr><w:t xml:space=\"preserve\">") < 0 ||
	     put_esc(b, bold) < 0 || buf_puts(b, "</w:t></w:r>") < 0))
		return -1;
	if (text && *text &&
	    (buf_puts(b, "<w:r><w:t xml:space=\"preserve\">") < 0 || put_esc(b, text) < 0 ||
	     buf_puts(b, "</w:t></w:r>") < 0))
		return -1;
	return buf_puts(b, "</w:p>");
}

static double num(const json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* "[HH:MM:SS] " */
static void stamp(double s, char out[24])
{
	char c[16];
	export_clock(s, c);
	snprintf(out, 24, "[%s] ", c);
}

/* Action items or decisions: "[time] text (who, when)". */
static int items(struct buf *b, const char *heading, const json_t *section)
{
	const json_t *list = json_object_get(section, "items"), *it;
	size_t i;

	if (!json_array_size(list))
		return 0;
	if (para(b, "Heading1", NULL, heading) < 0)
		return -1;
	json_array_foreach(list, i, it)
	{
		struct buf line = {0};
		char ts[24];
		const char *who = str(it, "who"), *when = str(it, "when");
		int rc;
		stamp(num(it, "start"), ts);
		rc = buf_puts(&line, str(it, "text") ? str(it, "text") : "");
		if (!rc && (who || when))
			rc = buf_printf(&line, " (%s%s%s)", who ? who : "", who && when ? ", " : "",
					when ? when : "");
		rc = rc ? rc : para(b, NULL, ts, line.data ? line.data : "");
		buf_free(&line);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static char *document_xml(const struct transcript *t, const struct export_doc *doc)
{
	struct buf b = {0};
	char date[40], name[NAME_MAX_BYTES], ts[24];
	size_t *order = NULL;
	const char *title = doc->title && *doc->title ? doc->title : "Transcript";

	if (buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
			 "<w:document xmlns:w=\"http://schemas.openxmlformats.org/"
			 "wordprocessingml/2006/main\"><w:body>") < 0 ||
	    para(&b, "Title", NULL, title) < 0)
		goto fail;
	export_date(doc->date_ms, date);
	if (date[0] && para(&b, NULL, "Date: ", date) < 0)
		goto fail;
	if (t->nspeakers) {
		struct buf who = {0};
		for (size_t k = 1; k <= t->nspeakers; k++) {
			export_speaker_name(t, k, name, sizeof name);
			if (buf_printf(&who, "%s%s", k > 1 ? ", " : "", name) < 0) {
				buf_free(&who);
				goto fail;
			}
		}
		int rc = para(&b, NULL, "Participants: ", who.data ? who.data : "");
		buf_free(&who);
		if (rc < 0)
			goto fail;
	}
	if (doc->insights) {
		const json_t *sum = json_object_get(json_object_get(doc->insights, "summary"),
						    "sentences"),
			     *s;
		size_t i;
		if (json_array_size(sum) && para(&b, "Heading1", NULL, "Summary") < 0)
			goto fail;
		json_array_foreach(sum, i, s)
		{
			stamp(num(s, "start"), ts);
			if (para(&b, NULL, ts, str(s, "text")) < 0)
				goto fail;
		}
		if (items(&b, "Action items", json_object_get(doc->insights, "action_items")) < 0 ||
		    items(&b, "Decisions", json_object_get(doc->insights, "decisions")) < 0)
			goto fail;
	}
	if (para(&b, "Heading1", NULL, "Transcript") < 0)
		goto fail;
	order = export_segment_order(t);
	if (t->nsegments && !order)
		goto fail;
	for (size_t k = 0; k < t->nsegments; k++) {
		const struct transcript_segment *seg = &t->segments[order[k]];
		char lead[24 + NAME_MAX_BYTES + 4];
		if (!seg->text || !*seg->text)
			continue;
		stamp(seg->start, ts);
		export_speaker_name(t, seg->speaker, name, sizeof name);
		snprintf(lead, sizeof lead, "%s%s%s", ts, name, name[0] ? ": " : "");
		if (para(&b, NULL, lead, seg->text) < 0)
			goto fail;
	}
	if (buf_puts(&b,
		     "<w:sectPr><w:pgSz w:w=\"11906\" w:h=\"16838\"/><w:pgMar w:top=\"1134\" "
		     "w:right=\"1134\" w:bottom=\"1134\" w:left=\"1134\" w:header=\"709\" "
		     "w:footer=\"709\" w:gutter=\"0\"/></w:sectPr></w:body></w:document>\n") < 0)
		goto fail;
	free(order);
	return buf_steal(&b);
fail:
	free(order);
	buf_free(&b);
	return NULL;
}

static const char CONTENT_TYPES[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
    "<Default Extension=\"rels\" "
    "ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
    "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
    "<Override PartName=\"/word/document.xml\" "
    "ContentType=\"application/"
    "vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>"
    "<Override PartName=\"/word/styles.xml\" "
    "ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/>"
    "<Override PartName=\"/docProps/core.xml\" "
    "ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/>"
    "</Types>\n";

static const char RELS[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" "
    "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" "
    "Target=\"word/document.xml\"/>"
    "<Relationship Id=\"rId2\" "
    "Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/"
    "core-properties\" "
    "Target=\"docProps/core.xml\"/>"
    "</Relationships>\n";

static const char DOC_RELS[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" "
    "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" "
    "Target=\"styles.xml\"/>"
    "</Relationships>\n";

static const char STYLES[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<w:styles xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
    "<w:docDefaults><w:rPrDefault><w:rPr><w:sz w:val=\"22\"/></w:rPr></w:rPrDefault>"
    "<w:pPrDefault><w:pPr><w:spacing w:after=\"120\"/></w:pPr></w:pPrDefault></w:docDefaults>"
    "<w:style w:type=\"paragraph\" w:default=\"1\" w:styleId=\"Normal\"><w:name "
    "w:val=\"Normal\"/></w:style>"
    "<w:style w:type=\"paragraph\" w:styleId=\"Title\"><w:name w:val=\"Title\"/>"
    "<w:basedOn w:val=\"Normal\"/><w:pPr><w:spacing w:after=\"240\"/></w:pPr>"
    "<w:rPr><w:b/><w:sz w:val=\"44\"/></w:rPr></w:style>"
    "<w:style w:type=\"paragraph\" w:styleId=\"Heading1\"><w:name w:val=\"heading 1\"/>"
    "<w:basedOn w:val=\"Normal\"/><w:pPr><w:keepNext/><w:spacing w:before=\"240\" "
    "w:after=\"120\"/><w:outlineLvl w:val=\"0\"/></w:pPr><w:rPr><w:b/><w:sz "
    "w:val=\"30\"/></w:rPr></w:style>"
    "</w:styles>\n";

static char *core_xml(const struct export_doc *doc)
{
	struct buf b = {0};
	if (buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
			 "<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/"
			 "2006/metadata/core-properties\" "
			 "xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title>") < 0 ||
	    put_esc(&b, doc->title && *doc->title ? doc->title : "Transcript") < 0 ||
	    buf_puts(&b, "</dc:title></cp:coreProperties>\n") < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static int add(zip_t *za, const char *name, const char *data)
{
	zip_source_t *s = zip_source_buffer(za, data, strlen(data), 0);
	if (!s)
		return -1;
	if (zip_file_add(za, name, s, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE) < 0) {
		zip_source_free(s);
		return -1;
	}
	return 0;
}

char *export_render_docx(const struct transcript *t, const struct export_doc *doc, size_t *len)
{
	char *document = document_xml(t, doc), *core = core_xml(doc), *out = NULL;
	zip_error_t ze;
	zip_source_t *src = NULL;
	zip_t *za = NULL;
	zip_stat_t st;
	zip_int64_t n;

	zip_error_init(&ze);
	if (!document || !core)
		goto done;
	src = zip_source_buffer_create(NULL, 0, 0, &ze);
	if (!src)
		goto done;
	za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
	if (!za)
		goto done;
	zip_source_keep(src); /* still ours after zip_close: the archive is read from it */
	/* [Content_Types].xml first: some readers look for it there. */
	if (add(za, "[Content_Types].xml", CONTENT_TYPES) < 0 || add(za, "_rels/.rels", RELS) < 0 ||
	    add(za, "docProps/core.xml", core) < 0 || add(za, "word/document.xml", document) < 0 ||
	    add(za, "word/styles.xml", STYLES) < 0 ||
	    add(za, "word/_rels/document.xml.rels", DOC_RELS) < 0) {
		zip_discard(za);
		za = NULL;
		goto done;
	}
	if (zip_close(za) < 0) {
		zip_discard(za);
		za = NULL;
		goto done;
	}
	za = NULL;
	zip_stat_init(&st);
	if (zip_source_stat(src, &st) < 0 || !(st.valid & ZIP_STAT_SIZE) ||
	    zip_source_open(src) < 0)
		goto done;
	out = malloc(st.size + 1);
	n = out ? zip_source_read(src, out, st.size) : -1;
	zip_source_close(src);
	if (n < 0 || (zip_uint64_t)n != st.size) {
		free(out);
		out = NULL;
		goto done;
	}
	out[n] = '\0';
	if (len)
		*len = (size_t)n;
done:
	zip_source_free(src);
	zip_error_fini(&ze);
	free(document);
	free(core);
	return out;
}
