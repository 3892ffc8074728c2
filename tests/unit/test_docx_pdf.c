/*
 * test_docx_pdf.c — the document exports read back by other programs: the
 * DOCX unzipped (`unzip`) and its XML checked (well-formed by xmllint when
 * present, the text where it belongs, escaped); the PDF read by `pdftotext`
 * (poppler): title, date, participants, summary, action items, every
 * segment with its speaker and time, non-Latin text, several pages with
 * their numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/export.h"

static char *run(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	size_t cap = 1 << 16, n = 0, got;
	char *out = malloc(cap);

	assert_non_null(f);
	assert_non_null(out);
	while ((got = fread(out + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n + 1 == cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
	}
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	return out;
}

static void save(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void sample(struct transcript *t, size_t nseg)
{
	memset(t, 0, sizeof *t);
	assert_int_equal(transcript_speaker_add(t, "Alice <CEO> & co"), 1);
	assert_int_equal(transcript_speaker_add(t, "Борис"), 2);
	for (size_t i = 0; i < nseg; i++) {
		char text[200];
		if (i == 1)
			snprintf(text, sizeof text, "Привет, команда. Καλημέρα σε όλους.");
		else
			snprintf(text, sizeof text,
				 "Segment %zu: the budget & the <roadmap> need review before "
				 "launch, so we keep talking about it for a while.",
				 i);
		assert_int_equal(
		    transcript_add_segment(t, (double)i * 7, (double)i * 7 + 6, 0.9, text), 0);
		t->segments[i].speaker = 1 + i % 2;
	}
}

static json_t *insights(void)
{
	return json_pack(
	    "{s:{s:s,s:[{s:s,s:f}]},s:{s:s,s:[{s:s,s:s,s:s,s:f}]},s:{s:s,s:[{s:s,s:n,s:n,s:f}]}}",
	    "summary", "source", "offline", "sentences", "text", "The budget needs review.",
	    "start", 63.0, "action_items", "source", "offline", "items", "text",
	    "I'll send the deck by Friday.", "who", "Alice", "when", "by Friday", "start", 3725.0,
	    "decisions", "source", "offline", "items", "text", "We decided to ship in June.", "who",
	    "when", "start", 14.0);
}

static void test_docx(void **state)
{
	(void)state;
	struct transcript t;
	json_t *ins = insights();
	struct export_doc doc = {.title = "Q3 planning & <review>",
				 .date_ms = 1764460800000LL, /* 30 November 2025 */
				 .insights = ins};
	size_t len = 0;
	char path[] = "/tmp/iam-docx-XXXXXX", cmd[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	sample(&t, 3);
	char *d = export_render_doc(&t, EXPORT_DOCX, &doc, &len);
	assert_non_null(d);
	assert_true(len > 100);
	assert_memory_equal(d, "PK\x03\x04", 4);
	save(path, d, len);
	snprintf(cmd, sizeof cmd, "unzip -Z1 %s", path);
	char *names = run(cmd);
	assert_non_null(strstr(names, "[Content_Types].xml"));
	assert_non_null(strstr(names, "_rels/.rels"));
	assert_non_null(strstr(names, "word/document.xml"));
	snprintf(cmd, sizeof cmd, "unzip -p %s word/document.xml", path);
	char *xml = run(cmd);
	assert_non_null(strstr(xml, "Q3 planning &amp; &lt;review&gt;"));
	assert_non_null(strstr(xml, "30 November 2025"));
	assert_non_null(strstr(xml, "Alice &lt;CEO&gt; &amp; co, Борис"));
	assert_non_null(strstr(xml, ">Summary<"));
	assert_non_null(strstr(xml, "The budget needs review."));
	assert_non_null(strstr(xml, ">Action items<"));
	assert_non_null(strstr(xml, "[01:02:05] "));
	assert_non_null(strstr(xml, "I'll send the deck by Friday. (Alice, by Friday)"));
	assert_non_null(strstr(xml, ">Decisions<"));
	assert_non_null(strstr(xml, "[00:00:07] Борис: "));
	assert_non_null(strstr(xml, "Привет, команда."));
	assert_non_null(strstr(xml, "the budget &amp; the &lt;roadmap&gt;"));
	assert_null(strstr(xml, "<roadmap>"));
	/* Well-formed for any XML reader (xmllint when installed). */
	if (system("command -v xmllint >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof cmd, "unzip -p %s word/document.xml | xmllint --noout -",
			 path);
		assert_int_equal(system(cmd), 0);
	}
	free(xml);
	free(names);
	free(d);
	/* Through export_render (no insights) and an empty transcript. */
	/* Characters XML forbids are left out; the document stays well-formed. */
	{
		struct transcript g = {0};
		assert_int_equal(transcript_add_segment(&g, 0, 1, 1,
							"a\x01"
							"b\xef\xbf\xbf c\x1f"),
				 0);
		d = export_render(&g, EXPORT_DOCX, "t\x02", &len);
		assert_non_null(d);
		save(path, d, len);
		snprintf(cmd, sizeof cmd, "unzip -p %s word/document.xml | xmllint --noout -",
			 path);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof cmd, "unzip -p %s word/document.xml", path);
		xml = run(cmd);
		assert_non_null(strstr(xml, ">ab c<"));
		free(xml);
		free(d);
		transcript_free(&g);
	}
	d = export_render(NULL, EXPORT_DOCX, NULL, &len);
	assert_non_null(d);
	save(path, d, len);
	snprintf(cmd, sizeof cmd, "unzip -p %s word/document.xml", path);
	xml = run(cmd);
	assert_non_null(strstr(xml, ">Transcript<"));
	assert_null(strstr(xml, ">Summary<"));
	free(xml);
	free(d);
	unlink(path);
	json_decref(ins);
	transcript_free(&t);
}

static void test_pdf(void **state)
{
	(void)state;
	struct transcript t;
	json_t *ins = insights();
	struct export_doc doc = {
	    .title = "Q3 planning — Ελληνικά", .date_ms = 1764460800000LL, .insights = ins};
	size_t len = 0;
	char path[] = "/tmp/iam-pdf-XXXXXX", cmd[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	sample(&t, 200); /* several pages */
	char *d = export_render_doc(&t, EXPORT_PDF, &doc, &len);
	assert_non_null(d);
	assert_memory_equal(d, "%PDF-", 5);
	save(path, d, len);
	snprintf(cmd, sizeof cmd, "pdfinfo %s", path);
	char *info = run(cmd);
	int pages = 0;
	const char *pl = strstr(info, "Pages:");
	assert_non_null(pl);
	pages = atoi(pl + 6);
	assert_true(pages >= 4);
	assert_non_null(strstr(info, "Q3 planning — Ελληνικά")); /* title metadata */
	snprintf(cmd, sizeof cmd, "pdftotext -layout %s -", path);
	char *text = run(cmd);
	assert_non_null(strstr(text, "Q3 planning — Ελληνικά"));
	assert_non_null(strstr(text, "30 November 2025"));
	assert_non_null(strstr(text, "Alice <CEO> & co, Борис"));
	assert_non_null(strstr(text, "Summary"));
	assert_non_null(strstr(text, "The budget needs review."));
	assert_non_null(strstr(text, "Action items"));
	assert_non_null(strstr(text, "(Alice, by Friday)"));
	assert_non_null(strstr(text, "[00:00:07] Борис: Привет, команда. Καλημέρα σε όλους."));
	assert_non_null(strstr(text, "Segment 199:"));
	assert_non_null(strstr(text, "[00:23:13]")); /* 199 * 7 s */
	char want[32];
	snprintf(want, sizeof want, "Page %d", pages);
	assert_non_null(strstr(text, "Page 1"));
	assert_non_null(strstr(text, want));
	/* Every segment once, in order. */
	const char *at = text;
	for (int i = 0; i < 200; i++) {
		char seg[32];
		if (i == 1)
			continue;
		snprintf(seg, sizeof seg, "Segment %d:", i);
		const char *hit = strstr(at, seg);
		if (!hit)
			fail_msg("%s missing or out of order", seg);
		at = hit;
	}
	free(text);
	free(info);
	free(d);
	/* Garbage in the struct (invalid UTF-8, control characters) still makes a PDF. */
	struct transcript g = {0};
	assert_int_equal(transcript_add_segment(&g, 0, 1, 1, "ok"), 0);
	free(g.segments[0].text);
	g.segments[0].text = strdup("bad \xff\xfe bytes\x01\x02 and\nnewline");
	d = export_render(&g, EXPORT_PDF, "t\x01itle\xff", &len);
	assert_non_null(d);
	save(path, d, len);
	snprintf(cmd, sizeof cmd, "pdftotext %s -", path);
	text = run(cmd);
	assert_non_null(strstr(text, "bytes"));
	free(text);
	free(d);
	transcript_free(&g);
	unlink(path);
	json_decref(ins);
	transcript_free(&t);
}

static void test_formats(void **state)
{
	(void)state;
	assert_int_equal(export_parse("DOCX"), EXPORT_DOCX);
	assert_int_equal(export_parse("pdf"), EXPORT_PDF);
	assert_string_equal(export_extension(EXPORT_DOCX), "docx");
	assert_string_equal(export_mime(EXPORT_PDF), "application/pdf");
	assert_string_equal(
	    export_mime(EXPORT_DOCX),
	    "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
	assert_null(export_render_doc(NULL, EXPORT_TXT, NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_docx),
	    cmocka_unit_test(test_pdf),
	    cmocka_unit_test(test_formats),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	/* Let the leak checker see only our memory: drop the font caches pango and cairo keep. */
	export_shutdown();
	return rc;
}
