;;; rwkv-lsp-eglot.el --- rwkv-lsp through Eglot  -*- lexical-binding: t; -*-
;; Eglot runs one server per buffer: with this, rwkv-lsp replaces the language's own server in
;; these modes. Its suggestion arrives through completion-at-point (one candidate: the whole
;; suggestion), shown by Company, Corfu or the *Completions* buffer.
(with-eval-after-load 'eglot
  (add-to-list 'eglot-server-programs
               '((c-mode c-ts-mode c++-mode c++-ts-mode python-mode python-ts-mode
                  rust-mode rust-ts-mode js-mode js-ts-mode go-mode go-ts-mode)
                 . ("rwkv-lsp" "serve"
                    ;; model: empty = the built-in model; vocab, threads, maxTokens, ...
                    :initializationOptions (:maxTokens 48 :maxLines 4)))))
;; M-x eglot in a buffer of those modes (or (add-hook 'c-mode-hook #'eglot-ensure)).
;;; rwkv-lsp-eglot.el ends here
