/*
 * ps.h — what the two PocketSphinx users (the sphinx engine and the word
 * aligner) share. ps_init() and ps_free() touch process-wide state
 * (logging), so they run under asr_ps_load_lock.
 */
#ifndef IAM_ASR_PS_H
#define IAM_ASR_PS_H

#include <pthread.h>
#include <stddef.h>

#define ASR_PS_MODEL_DIR "/usr/share/pocketsphinx/model/en-us"

extern pthread_mutex_t asr_ps_load_lock;
/* Silence PocketSphinx's own logging (our logs are JSON lines); idempotent. */
void asr_ps_quiet(void);
/*
 * Some sphinxbase loaders exit() on missing files instead of failing, so
 * check the acoustic model dir and the dictionary before handing them over.
 * 0, or -1 with err.
 */
int asr_ps_check_model(const char *hmm, const char *dict, char *err, size_t errlen);

#endif
