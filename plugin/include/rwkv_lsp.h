/*
 * rwkv_lsp.h: the C API of librwkv-lsp, inline code completion from RWKV models running locally.
 *
 * What it owns: models (weights prepared for a compute backend), documents (one open file each,
 * with a persistent RWKV state kept in step with its text by incremental edits and checkpoints),
 * completion results, and language servers run on a pair of file descriptors. Everything is an
 * opaque handle created by a function of this header and released by the matching *_free().
 *
 * Conventions
 *  - Functions return an rwkv_lsp_status: RWKV_LSP_OK (0), RWKV_LSP_CANCELLED (1, not an error), or
 *    a negative RWKV_LSP_ERR_*; after a negative status, rwkv_lsp_last_error() says what went wrong
 *    and what to do. Output parameters are written only on RWKV_LSP_OK (and RWKV_LSP_CANCELLED where
 *    a function says so).
 *  - Parameter structs start with `struct_size`: get one from rwkv_lsp_*_default_params() (which
 *    sets it), change the fields you need and pass it by pointer. A struct_size this library does not
 *    know gives RWKV_LSP_ERR_INVALID_ARGUMENT, so a host built against another version of this header
 *    fails cleanly instead of reading past the struct.
 *  - Strings passed in are UTF-8 and copied before the call returns unless a function says otherwise;
 *    texts are (pointer, length) pairs and may hold NUL bytes. Strings handed out are NUL-terminated
 *    and stay valid as long as the object they come from, as each function states.
 *  - Positions are (line, character) as in the Language Server Protocol. A document chooses the unit
 *    of `character` when it is opened: UTF-8 bytes (the default), UTF-16 code units (what LSP clients
 *    and most editors' APIs count), or UTF-32 code points. Lines end at "\n", "\r\n" or a lone "\r".
 *  - No C++ exception crosses this boundary; a NULL handle where one is required gives
 *    RWKV_LSP_ERR_INVALID_ARGUMENT (the *_free functions accept NULL and do nothing).
 *
 * Threads
 *  - A model may be used by any number of threads at once: documents of one model may be used
 *    concurrently from different threads (evaluations are serialized on the model's backend).
 *  - A document is used by one thread at a time, except rwkv_lsp_document_cancel(), which may be
 *    called from any thread while the document lives.
 *  - A server runs on the thread that calls rwkv_lsp_server_run(); rwkv_lsp_server_stop() may be
 *    called from any thread.
 *  - rwkv_lsp_last_error() is per thread.
 *  - Callbacks (progress, tokens) run on the thread that called the function they were given to,
 *    before it returns; they must not call back into this API with the same handle.
 */
#ifndef RWKV_LSP_H
#define RWKV_LSP_H

#include <stddef.h>
#include <stdint.h>

#if defined(RWKV_LSP_STATIC)
#define RWKV_LSP_API
#elif defined(_WIN32)
#if defined(RWKV_LSP_BUILDING)
#define RWKV_LSP_API __declspec(dllexport)
#else
#define RWKV_LSP_API __declspec(dllimport)
#endif
#else
#define RWKV_LSP_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions ---------------------------------------------------------------------------------- */

/* The API this header describes: MAJOR changes break source or binary compatibility, MINOR adds. */
#define RWKV_LSP_API_VERSION_MAJOR 0
#define RWKV_LSP_API_VERSION_MINOR 1
#define RWKV_LSP_API_VERSION ((RWKV_LSP_API_VERSION_MAJOR << 16) | RWKV_LSP_API_VERSION_MINOR)

/* The API version of the loaded library, as RWKV_LSP_API_VERSION. A host built against this header
 * works with the library when the majors are equal and the library's minor is not smaller. Any thread. */
RWKV_LSP_API uint32_t rwkv_lsp_api_version(void);

/* The project version of the loaded library ("0.1.0"); a static string. Any thread. */
RWKV_LSP_API const char* rwkv_lsp_version_string(void);

/* ---- status ------------------------------------------------------------------------------------ */

typedef int32_t rwkv_lsp_status;

enum {
  RWKV_LSP_OK = 0,
  RWKV_LSP_CANCELLED = 1,                 /* stopped by rwkv_lsp_document_cancel(); not an error */
  RWKV_LSP_ERR_INVALID_ARGUMENT = -1,     /* NULL handle or pointer, unknown struct_size, bad option value */
  RWKV_LSP_ERR_OUT_OF_RANGE = -2,         /* a position outside the document, a range that ends before it starts */
  RWKV_LSP_ERR_IO = -3,                   /* a file could not be opened, read or written */
  RWKV_LSP_ERR_BAD_FORMAT = -4,           /* a file is corrupt or not of the format it claims */
  RWKV_LSP_ERR_UNSUPPORTED = -5,          /* a well-formed file of a kind or variant this build does not handle */
  RWKV_LSP_ERR_BAD_MODEL = -6,            /* the tensors do not form a model this library knows */
  RWKV_LSP_ERR_STATE_MISMATCH = -7,       /* a saved document belongs to another model, tokenizer or file */
  RWKV_LSP_ERR_OUT_OF_MEMORY = -8,        /* an allocation failed */
  RWKV_LSP_ERR_BUSY = -9,                 /* the object is in use (a server already running) */
  RWKV_LSP_ERR_INTERNAL = -100            /* a bug: please report it with rwkv_lsp_last_error() */
};

/* The message of the last call on this thread that returned a negative status ("" when none): what
 * went wrong and what to do. Valid until the next call of this API on the same thread. */
RWKV_LSP_API const char* rwkv_lsp_last_error(void);

/* "ok", "cancelled", "invalid argument", ...; a static string ("unknown status" for others). */
RWKV_LSP_API const char* rwkv_lsp_status_name(rwkv_lsp_status status);

/* ---- models ------------------------------------------------------------------------------------ */

typedef struct rwkv_lsp_model rwkv_lsp_model;

/* Loading progress: a fraction from 0 to 1, non-decreasing; called at least with 0 when loading starts
 * and with 1 when the weights are ready. */
typedef void (*rwkv_lsp_progress_callback)(float fraction, void* user_data);

typedef struct rwkv_lsp_model_params {
  uint32_t struct_size;        /* sizeof(rwkv_lsp_model_params) */
  const char* path;            /* NULL, "" or "builtin": the model built into the library (default); a model file
                                  (a BlinkDL .pth of RWKV-4, 5.2, 6 or 7); or the name of a model fetched with
                                  `rwkv-lsp pull` ("g1-0.4b") */
  const char* vocab;           /* NULL or "": chosen from the model's vocabulary size (256: bytes, 65536: World
                                  with rwkv_vocab_v20230424.txt beside the model or in ~/.cache/rwkv-lsp);
                                  "bytes": the byte tokenizer; else a vocabulary file */
  int32_t threads;             /* compute threads; 0 = all cores (default 0) */
  const char* backend;         /* NULL or "auto" (default), "cpu", "cpu-reference" (scalar); there is no GPU
                                  backend yet ("cuda" is refused with a message saying so) */
  const char* weight_type;     /* in-memory encoding of the large matrices: NULL or "" = as stored (memory-mapped),
                                  "f32", "f16", "bf16", "q8_0", "q4_0", ... */
  const char* precision;       /* NULL or "fast" (default): activations in the weights' native dot format where the
                                  CPU has it (bf16 pairs, int8 blocks); "exact": fp32 arithmetic throughout */
  uint64_t memory_budget_bytes; /* checkpoints of all documents of this model together; the least recently used
                                  documents give memory first; 0 = no limit (default 1 GiB) */
  rwkv_lsp_progress_callback progress; /* may be NULL */
  void* progress_user_data;    /* passed to `progress` */
} rwkv_lsp_model_params;

/* Defaults as documented on each field (the built-in model). Any thread. */
RWKV_LSP_API rwkv_lsp_model_params rwkv_lsp_model_default_params(void);

/* Loads a model and its tokenizer. On RWKV_LSP_OK, *out_model is a new model the caller owns (free it
 * with rwkv_lsp_model_free). Returns RWKV_LSP_ERR_INVALID_ARGUMENT (NULL params/out_model, unknown
 * backend, weight type or precision, a model name that was not pulled — the message says the
 * command), RWKV_LSP_ERR_IO (no such file), RWKV_LSP_ERR_BAD_FORMAT, RWKV_LSP_ERR_UNSUPPORTED (the
 * built-in model in a build without one), RWKV_LSP_ERR_BAD_MODEL. Any thread; blocks for the time
 * loading takes. */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_model_load(const rwkv_lsp_model_params* params, rwkv_lsp_model** out_model);

/* Releases the caller's handle. Documents opened on the model keep the weights alive until they are
 * freed too, so a model may be freed before its documents. NULL is ignored. Not while another thread
 * uses the same handle. */
RWKV_LSP_API void rwkv_lsp_model_free(rwkv_lsp_model* model);

typedef struct rwkv_lsp_model_info {
  uint32_t struct_size;     /* sizeof(rwkv_lsp_model_info), set by the caller */
  const char* architecture; /* "4", "5.2", "6", "7" */
  int32_t n_layer;
  int32_t n_embd;
  int32_t n_vocab;
  const char* tokenizer;    /* "bytes", "world" */
  const char* backend;      /* "cpu", "cpu-reference", "cuda" */
  const char* isa;          /* "avx2-fma", "scalar", the GPU's name, ... */
  int32_t threads;
  const char* weight_type;  /* in-memory encoding of the large matrices ("f32", "bf16", ...) */
  uint64_t checkpoint_bytes; /* memory the checkpoints of all its documents use now */
} rwkv_lsp_model_info;

/* Fills *info (whose struct_size the caller sets). Its strings are valid as long as the model handle
 * lives. Any thread. */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_model_get_info(const rwkv_lsp_model* model, rwkv_lsp_model_info* info);

/* ---- documents --------------------------------------------------------------------------------- */

typedef struct rwkv_lsp_document rwkv_lsp_document;

enum {
  RWKV_LSP_POSITION_UTF8 = 0,  /* character = bytes of UTF-8 */
  RWKV_LSP_POSITION_UTF16 = 1, /* character = UTF-16 code units (LSP's default; JavaScript and Java strings) */
  RWKV_LSP_POSITION_UTF32 = 2  /* character = code points */
};

typedef struct rwkv_lsp_position {
  uint32_t line;      /* 0-based */
  uint32_t character; /* 0-based, in the document's position encoding */
} rwkv_lsp_position;

typedef struct rwkv_lsp_range {
  rwkv_lsp_position start;
  rwkv_lsp_position end; /* exclusive */
} rwkv_lsp_range;

typedef struct rwkv_lsp_document_params {
  uint32_t struct_size;       /* sizeof(rwkv_lsp_document_params) */
  const char* uri;            /* "file:///home/me/src/main.c" or a path; names the file to the model; may be NULL */
  const char* language;       /* LSP language id ("c", "cpp", "python", ...); may be NULL */
  int32_t position_encoding;  /* RWKV_LSP_POSITION_* (default UTF8) */
  int64_t checkpoint_spacing; /* tokens between the checkpoints pre-feeding leaves (default 256; must be >= 1) */
} rwkv_lsp_document_params;

/* Defaults as documented on each field. Any thread. */
RWKV_LSP_API rwkv_lsp_document_params rwkv_lsp_document_default_params(void);

/* Opens a document with `text` (text_len bytes of UTF-8; NULL with 0 for an empty document). Nothing is
 * evaluated yet: the first completion feeds the text, or rwkv_lsp_document_prefeed() does it ahead of
 * time. On RWKV_LSP_OK, *out_doc is a new document the caller owns (rwkv_lsp_document_free); it keeps
 * the model's weights alive. Returns RWKV_LSP_ERR_INVALID_ARGUMENT for NULL model/params/out_doc or a
 * bad field. Any thread; the model may be in use by other threads. */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_open(rwkv_lsp_model* model, const rwkv_lsp_document_params* params,
                                                    const char* text, size_t text_len, rwkv_lsp_document** out_doc);

/* Frees the document and its states. NULL is ignored. No other thread may use it (cancel included). */
RWKV_LSP_API void rwkv_lsp_document_free(rwkv_lsp_document* doc);

/* Replaces the text in `range` (in the document's position encoding) with `text`, as an LSP
 * didChange content change does; range NULL replaces the whole text. The state is updated lazily:
 * later work re-feeds only the tokens from the first one the edit changed. Returns
 * RWKV_LSP_ERR_OUT_OF_RANGE (nothing changed) when a line is past the last line, a character past
 * the end of its line, or the end before the start. The document's thread. */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_edit(rwkv_lsp_document* doc, const rwkv_lsp_range* range,
                                                    const char* text, size_t text_len);

/* The current text (*out_len bytes, NUL-terminated). Valid until the next edit or restore of the
 * document. NULL (and RWKV_LSP_ERR_INVALID_ARGUMENT in rwkv_lsp_last_error) for a NULL doc. The
 * document's thread. */
RWKV_LSP_API const char* rwkv_lsp_document_text(const rwkv_lsp_document* doc, size_t* out_len);

/* Background work a host may run when idle: feeds up to max_tokens more tokens of the text and leaves
 * checkpoints, so a later completion anywhere is at most one checkpoint interval away. *out_remaining
 * (may be NULL) receives the tokens still to feed (0: done). rwkv_lsp_document_cancel() interrupts it
 * (RWKV_LSP_CANCELLED, what was fed is kept). The document's thread. */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_prefeed(rwkv_lsp_document* doc, int64_t max_tokens,
                                                       int64_t* out_remaining);

/* Stops the completion or pre-feeding running on `doc` in another thread at its next token: it returns
 * RWKV_LSP_CANCELLED. Does nothing when nothing runs (a later call is not affected). Any thread, while
 * the document lives. */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_cancel(rwkv_lsp_document* doc);

/* Writes the document (header, text, tokens and every checkpoint's state) to `path`, replacing it
 * atomically (a temporary file beside it, then a rename). RWKV_LSP_ERR_IO when it cannot be written.
 * The document's thread. */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_save(const rwkv_lsp_document* doc, const char* path);

/* Re-creates a document saved by rwkv_lsp_document_save on the same model: with text NULL, or with
 * the saved text, the new document equals the saved one (text, tokens and states), so completing
 * needs no re-feeding. With another text, the difference is applied as one edit (the checkpoints
 * before it are kept). `params` must name the same uri and language as when saved, and set the
 * position encoding and checkpoint spacing of the new document. On RWKV_LSP_OK, *out_doc is a new
 * document the caller owns. Returns RWKV_LSP_ERR_IO, RWKV_LSP_ERR_BAD_FORMAT (corrupt file),
 * RWKV_LSP_ERR_STATE_MISMATCH (another model, tokenizer, uri or language). Any thread. */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_restore(rwkv_lsp_model* model, const rwkv_lsp_document_params* params,
                                                       const char* path, const char* text, size_t text_len,
                                                       rwkv_lsp_document** out_doc);

/* ---- completion -------------------------------------------------------------------------------- */

typedef struct rwkv_lsp_completion rwkv_lsp_completion;

/* Streaming: called with each piece of generated text (UTF-8, len bytes, not NUL-terminated) of
 * candidate `candidate` (0 is the greedy one) as it is produced; the final items may be cut or
 * trimmed (see rwkv_lsp_document_complete). Return 0 to go on, non-zero to stop generating: the
 * completion then returns RWKV_LSP_OK with what was generated up to there. */
typedef int32_t (*rwkv_lsp_token_callback)(uint32_t candidate, const char* text, size_t len, void* user_data);

typedef struct rwkv_lsp_completion_params {
  uint32_t struct_size;     /* sizeof(rwkv_lsp_completion_params) */
  int32_t max_tokens;       /* per candidate (default 64; >= 1) */
  int32_t max_lines;        /* per multi-line suggestion (default 8; >= 1) */
  double time_budget_ms;    /* for the whole call, state update included (default 1500); 0 = no limit */
  int32_t candidates;       /* suggestions to generate: the first greedy, the others sampled (default 1; 1..16) */
  float temperature;        /* for candidates after the first (default 0.8; >= 0) */
  float top_p;              /* for candidates after the first (default 0.9; 0 < top_p <= 1) */
  uint64_t seed;            /* for sampling (default 0) */
  rwkv_lsp_token_callback on_token; /* may be NULL */
  void* user_data;          /* passed to on_token */
} rwkv_lsp_completion_params;

/* Defaults as documented on each field. Any thread. */
RWKV_LSP_API rwkv_lsp_completion_params rwkv_lsp_completion_default_params(void);

/* Suggests text to insert at `position`, from the document's state there (updated from the nearest
 * checkpoint). The editor rules apply: mid-line only when the rest of the line is closing brackets,
 * quotes or punctuation (else no items), single-line then; at the end of a line possibly several
 * lines, ending with the block; never repeating the text after the cursor; no empty or whitespace-only
 * items; duplicates merged. On RWKV_LSP_OK (zero or more items) and on RWKV_LSP_CANCELLED (what was
 * generated before the cancel; maybe no items), *out is a new result the caller owns
 * (rwkv_lsp_completion_free). Returns RWKV_LSP_ERR_OUT_OF_RANGE for a position outside the text and
 * RWKV_LSP_ERR_INVALID_ARGUMENT for bad params. The document's thread. */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_document_complete(rwkv_lsp_document* doc, rwkv_lsp_position position,
                                                        const rwkv_lsp_completion_params* params,
                                                        rwkv_lsp_completion** out);

RWKV_LSP_API void rwkv_lsp_completion_free(rwkv_lsp_completion* completion);

/* Number of items (0 when completion is NULL). */
RWKV_LSP_API uint32_t rwkv_lsp_completion_count(const rwkv_lsp_completion* completion);

typedef struct rwkv_lsp_completion_item {
  const char* text;     /* NUL-terminated UTF-8, valid as long as the completion lives */
  size_t text_len;      /* bytes */
  rwkv_lsp_range range; /* what to replace: from the cursor to after any closing brackets the text re-types
                           (start == end for a plain insertion), in the document's position encoding */
} rwkv_lsp_completion_item;

/* Item `index` (< rwkv_lsp_completion_count). RWKV_LSP_ERR_OUT_OF_RANGE for a bad index. Any thread
 * (the result is immutable). */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_completion_get_item(const rwkv_lsp_completion* completion, uint32_t index,
                                                          rwkv_lsp_completion_item* out_item);

typedef struct rwkv_lsp_completion_stats {
  int64_t tokens_refed;     /* tokens fed to bring the state to the cursor */
  double prefill_ms;        /* time to bring the state to the cursor */
  int64_t generated_tokens; /* all candidates together */
  double generate_ms;
} rwkv_lsp_completion_stats;

/* What the completion cost. Any thread. */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_completion_get_stats(const rwkv_lsp_completion* completion,
                                                           rwkv_lsp_completion_stats* out_stats);

/* ---- the language server ----------------------------------------------------------------------- */

typedef struct rwkv_lsp_server rwkv_lsp_server;

typedef struct rwkv_lsp_server_params {
  uint32_t struct_size;      /* sizeof(rwkv_lsp_server_params) */
  const char* settings_json; /* default settings, a JSON object with the keys of `rwkv-lsp serve`
                                ({"model": "...", "vocab": "bytes", "maxTokens": 32, ...}); the client's
                                initializationOptions override them; NULL = {} */
  rwkv_lsp_model* model;     /* borrowed, may be NULL: served while the settings name no model file; it must
                                outlive the server */
  int32_t stderr_log_level;  /* messages at least this severe go to stderr: 0 none (default), 1 errors,
                                2 warnings, 3 info, 4 log */
} rwkv_lsp_server_params;

/* Defaults as documented on each field. Any thread. */
RWKV_LSP_API rwkv_lsp_server_params rwkv_lsp_server_default_params(void);

/* Makes a language server (LSP over JSON-RPC with Content-Length framing, as `rwkv-lsp serve`) that
 * reads in_fd and writes out_fd; they may be the same descriptor (a socket). The descriptors are
 * borrowed: the caller closes them after rwkv_lsp_server_free. The settings are checked here
 * (RWKV_LSP_ERR_INVALID_ARGUMENT for JSON that is not an object); the model they name is loaded when
 * the first document opens. On RWKV_LSP_OK, *out_server is a new server the caller owns. Any thread. */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_server_create(const rwkv_lsp_server_params* params, int32_t in_fd,
                                                    int32_t out_fd, rwkv_lsp_server** out_server);

/* Serves until the client sends `exit`, closes its end, or rwkv_lsp_server_stop() is called, and
 * stores the LSP exit code in *out_exit_code (may be NULL): 0 after a `shutdown` request, else 1.
 * Once per server (RWKV_LSP_ERR_BUSY after). Blocks the calling thread, which becomes the protocol
 * thread; inference runs on a worker thread the server owns. */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_server_run(rwkv_lsp_server* server, int32_t* out_exit_code);

/* Makes rwkv_lsp_server_run return soon (requests in flight are answered as cancelled). Any thread;
 * before, during or after run. */
RWKV_LSP_API rwkv_lsp_status rwkv_lsp_server_stop(rwkv_lsp_server* server);

/* Frees the server. NULL is ignored. Not while rwkv_lsp_server_run runs. */
RWKV_LSP_API void rwkv_lsp_server_free(rwkv_lsp_server* server);

#ifdef __cplusplus
}
#endif

#endif /* RWKV_LSP_H */
