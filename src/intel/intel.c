/*
 * intel.c — all the offline insights of a transcript as one JSON document.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intel/intel.h"

#define TOPICS_MAX	12
#define POSITIVE	0.05 /* VADER's usual thresholds on the compound score */
#define NEGATIVE	(-0.05)
#define TIMELINE_POINTS 40
#define TIMELINE_MIN_S	10.0

static json_t *ms(double s)
{
	return json_real(isfinite(s) && s > 0 ? round(s * 1000) / 1000 : 0);
}

static json_t *round4(double x)
{
	return json_real(isfinite(x) ? round(x * 10000) / 10000 : 0);
}

static json_t *speaker_id(const struct transcript *t, size_t k)
{
	char id[8];
	transcript_speaker_id(t, k, id);
	return id[0] ? json_string(id) : json_null();
}

static json_t *speaker_name(const struct transcript *t, size_t k)
{
	char name[TRANSCRIPT_NAME_MAX * 4 + 1];
	if (!k || k > t->nspeakers)
		return json_null();
	transcript_speaker_display(t, k, name, sizeof name);
	return json_string(name);
}

static json_t *opt_string(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *section(const char *source, const char *key, json_t *list)
{
	return json_pack("{s:s,s:o}", "source", source, key, list ? list : json_array());
}

static json_t *summary_json(const struct transcript *t, const struct intel_doc *d)
{
	size_t idx[10];
	int n = intel_summary(d, idx);
	json_t *arr = json_array();

	if (n < 0 || !arr) {
		json_decref(arr);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		const struct intel_sentence *s = &d->s[idx[i]];
		json_array_append_new(arr, json_pack("{s:s,s:o,s:o,s:o,s:o}", "text", s->text,
						     "start", ms(s->start), "end", ms(s->end),
						     "speaker", speaker_id(t, s->speaker),
						     "speaker_name", speaker_name(t, s->speaker)));
	}
	return section(INTEL_SOURCE_OFFLINE, "sentences", arr);
}

static int items_json(const struct transcript *t, const struct intel_doc *d, json_t **actions,
		      json_t **decisions)
{
	struct intel_item *items = NULL;
	size_t n = 0;
	json_t *a = json_array(), *dd = json_array();

	if (!a || !dd || intel_items(t, d, &items, &n) < 0) {
		json_decref(a);
		json_decref(dd);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct intel_sentence *s = &d->s[items[i].sentence];
		json_array_append_new(items[i].kind == INTEL_DECISION ? dd : a,
				      json_pack("{s:s,s:o,s:o,s:o,s:o,s:o}", "text", s->text, "who",
						opt_string(items[i].who), "when",
						opt_string(items[i].when), "start", ms(s->start),
						"end", ms(s->end), "speaker",
						speaker_id(t, s->speaker)));
	}
	free(items);
	*actions = section(INTEL_SOURCE_OFFLINE, "items", a);
	*decisions = section(INTEL_SOURCE_OFFLINE, "items", dd);
	return *actions && *decisions ? 0 : -1;
}

static json_t *topics_json(const struct intel_doc *d)
{
	struct intel_topic *tp = NULL;
	size_t n = 0;
	json_t *arr = json_array();

	if (!arr || intel_topics(d, TOPICS_MAX, &tp, &n) < 0) {
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_array();
		for (size_t k = 0; k < tp[i].nmentions; k++)
			json_array_append_new(m, ms(tp[i].mentions[k]));
		json_array_append_new(arr, json_pack("{s:s,s:o,s:o}", "phrase", tp[i].phrase,
						     "score", round4(tp[i].score), "mentions", m));
	}
	intel_topics_free(tp, n);
	return section(INTEL_SOURCE_OFFLINE, "items", arr);
}

struct seg_score {
	double start, end, compound;
	size_t speaker, index;
};

static int seg_cmp(const void *a, const void *b)
{
	const struct seg_score *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static json_t *sentiment_json(const struct transcript *t, const struct intel_lexicon *lx)
{
	struct seg_score *ss = NULL;
	size_t n = 0;
	double last = 0, width;
	json_t *segs = json_array(), *spk = json_array(), *tl = json_array(), *out = NULL;

	if (!segs || !spk || !tl)
		goto out;
	if (!lx) {
		out = json_pack("{s:s,s:o,s:o,s:o}", "source", "unavailable", "segments", segs,
				"speakers", spk, "timeline", tl);
		return out;
	}
	ss = calloc(t->nsegments ? t->nsegments : 1, sizeof *ss);
	if (!ss)
		goto out;
	for (size_t i = 0; i < t->nsegments; i++) {
		const struct transcript_segment *g = &t->segments[i];
		struct intel_vader v;
		if (!g->text || !g->text[0])
			continue;
		intel_vader_scores(lx, g->text, &v);
		ss[n++] =
		    (struct seg_score){.start = isfinite(g->start) && g->start > 0 ? g->start : 0,
				       .end = isfinite(g->end) && g->end > 0 ? g->end : 0,
				       .compound = v.compound,
				       .speaker = g->speaker <= t->nspeakers ? g->speaker : 0,
				       .index = i};
	}
	qsort(ss, n, sizeof *ss, seg_cmp);
	for (size_t i = 0; i < n; i++) {
		if (ss[i].end > last)
			last = ss[i].end;
		json_array_append_new(segs, json_pack("{s:I,s:o,s:o,s:o,s:o}", "index",
						      (json_int_t)ss[i].index, "start",
						      ms(ss[i].start), "end", ms(ss[i].end),
						      "speaker", speaker_id(t, ss[i].speaker),
						      "compound", round4(ss[i].compound)));
	}
	/* Per speaker (index 0: segments nobody was named for). */
	for (size_t k = 0; k <= t->nspeakers; k++) {
		double sum = 0;
		size_t cnt = 0, pos = 0, neg = 0;
		for (size_t i = 0; i < n; i++) {
			if (ss[i].speaker != k)
				continue;
			sum += ss[i].compound;
			cnt++;
			pos += ss[i].compound >= POSITIVE;
			neg += ss[i].compound <= NEGATIVE;
		}
		if (!cnt)
			continue;
		json_array_append_new(spk, json_pack("{s:o,s:o,s:o,s:I,s:I,s:I,s:I}", "speaker",
						     speaker_id(t, k), "name", speaker_name(t, k),
						     "compound", round4(sum / (double)cnt),
						     "segments", (json_int_t)cnt, "positive",
						     (json_int_t)pos, "negative", (json_int_t)neg,
						     "neutral", (json_int_t)(cnt - pos - neg)));
	}
	/* Over time: about TIMELINE_POINTS windows, each a whole number of 10 s. */
	width = ceil(last / TIMELINE_POINTS / TIMELINE_MIN_S) * TIMELINE_MIN_S;
	if (width < TIMELINE_MIN_S)
		width = TIMELINE_MIN_S;
	for (double w0 = 0; n && w0 < last; w0 += width) {
		double sum = 0, by[TRANSCRIPT_MAX_SPEAKERS + 1] = {0};
		size_t cnt = 0, byn[TRANSCRIPT_MAX_SPEAKERS + 1] = {0};
		json_t *sp = json_array();
		for (size_t i = 0; i < n; i++) {
			double mid = (ss[i].start + ss[i].end) / 2;
			if (mid < w0 || mid >= w0 + width)
				continue;
			sum += ss[i].compound;
			cnt++;
			if (ss[i].speaker <= TRANSCRIPT_MAX_SPEAKERS) {
				by[ss[i].speaker] += ss[i].compound;
				byn[ss[i].speaker]++;
			}
		}
		for (size_t k = 0; k <= t->nspeakers && k <= TRANSCRIPT_MAX_SPEAKERS; k++)
			if (byn[k])
				json_array_append_new(
				    sp, json_pack("{s:o,s:o}", "speaker", speaker_id(t, k),
						  "compound", round4(by[k] / (double)byn[k])));
		json_array_append_new(tl, json_pack("{s:o,s:o,s:o,s:I,s:o}", "start", ms(w0), "end",
						    ms(w0 + width), "compound",
						    cnt ? round4(sum / (double)cnt) : json_null(),
						    "segments", (json_int_t)cnt, "speakers", sp));
	}
	out = json_pack("{s:s,s:O,s:O,s:O}", "source", INTEL_SOURCE_OFFLINE, "segments", segs,
			"speakers", spk, "timeline", tl);
out:
	free(ss);
	json_decref(segs);
	json_decref(spk);
	json_decref(tl);
	return out;
}

json_t *intel_analyze(const struct transcript *t, const struct intel_lexicon *lx,
		      void (*progress)(void *ctx, double fraction), void *ctx)
{
	static const struct transcript empty;
	struct intel_doc d = {0};
	json_t *summary = NULL, *actions = NULL, *decisions = NULL, *topics = NULL, *senti = NULL;
	json_t *out = NULL;

	if (!t)
		t = &empty;
	if (intel_split(t, &d) < 0)
		goto out;
	if (progress)
		progress(ctx, 0.1);
	summary = summary_json(t, &d);
	if (!summary)
		goto out;
	if (progress)
		progress(ctx, 0.4);
	if (items_json(t, &d, &actions, &decisions) < 0)
		goto out;
	if (progress)
		progress(ctx, 0.5);
	topics = topics_json(&d);
	if (!topics)
		goto out;
	if (progress)
		progress(ctx, 0.7);
	senti = sentiment_json(t, lx);
	if (!senti)
		goto out;
	if (progress)
		progress(ctx, 1.0);
	out = json_pack("{s:O,s:O,s:O,s:O,s:O}", "summary", summary, "action_items", actions,
			"decisions", decisions, "topics", topics, "sentiment", senti);
out:
	intel_doc_free(&d);
	json_decref(summary);
	json_decref(actions);
	json_decref(decisions);
	json_decref(topics);
	json_decref(senti);
	return out;
}
