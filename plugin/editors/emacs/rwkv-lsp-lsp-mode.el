;;; rwkv-lsp-lsp-mode.el --- rwkv-lsp through lsp-mode  -*- lexical-binding: t; -*-
;; An add-on client: rwkv-lsp runs beside the language's own server in every buffer lsp-mode
;; manages. Completion items come through completion-at-point (Company, Corfu); with an lsp-mode
;; that has lsp-inline-completion.el (9.0.1 and later), suggestions also show inline.
(with-eval-after-load 'lsp-mode
  (lsp-register-client
   (make-lsp-client
    :new-connection (lsp-stdio-connection '("rwkv-lsp" "serve"))
    :activation-fn (lambda (&rest _) t)  ; any language
    :add-on? t
    :priority -2
    :server-id 'rwkv-lsp
    ;; model: empty = the built-in model; vocab, threads, maxTokens, ...
    :initialization-options (lambda () '(:maxTokens 48 :maxLines 4))))
  (when (require 'lsp-inline-completion nil t)
    ;; Ghost text as you type; C-<return> (lsp-inline-completion-accept) inserts it.
    (add-hook 'lsp-mode-hook #'lsp-inline-completion-mode)))
;;; rwkv-lsp-lsp-mode.el ends here
