;;; test_eglot.el --- Eglot with plugin/editors/emacs/rwkv-lsp-eglot.el  -*- lexical-binding: t; -*-
;; Debian 12's Emacs 28 with elpa-eglot (1.9): connect with the shipped configuration (built-in
;; model), complete at point in a word, after typing on and after an edit above; each time check
;; the server's copy of the document and that the buffer ends as the item's edit says; shut down.

(unless (require 'eglot nil t)
  (rwkv-test-skip "eglot is not installed (apt-get install elpa-eglot; built into Emacs 29+)"))
(load (expand-file-name "rwkv-lsp-eglot.el" (getenv "RWKV_LSP_EMACS_PLUGIN")))
(setq eglot-sync-connect 60)

(defun rwkv-test-document (server)
  "The one open document as rwkv/status reports it, after Eglot has sent its pending changes."
  (eglot--signal-textDocument/didChange)
  (let ((documents (plist-get (jsonrpc-request server :rwkv/status nil) :documents)))
    (and (= (length documents) 1) (aref documents 0))))

(defun rwkv-test-complete-here (server what)
  "Run completion-at-point and check that the buffer ends as the server's item says."
  (let* ((before (buffer-string))
         (prefix-bytes (string-bytes (buffer-substring (point-min) (point))))
         (capf (eglot-completion-at-point))
         (proxies (and capf (all-completions "" (nth 2 capf))))
         (item (and proxies (get-text-property 0 'eglot--lsp-item (car proxies))))
         (edit (plist-get item :textEdit))
         (doc (rwkv-test-document server)))
    ;; The built-in model reads bytes: the state it completed from is exactly the text before point.
    (rwkv-test-check (equal (plist-get doc :tokens) prefix-bytes)
                     (format "%s: the server's state holds the text before point" what) doc)
    (rwkv-test-check (equal (plist-get doc :version) eglot--versioned-identifier)
                     (format "%s: the server has the buffer's version" what) doc)
    (when (rwkv-test-check edit (format "%s: completion-at-point offers the server's item" what) (list proxies (buffer-string)))
      (let ((expected (rwkv-test-apply-edit before (plist-get edit :range) (plist-get edit :newText))))
        (completion-at-point)
        (rwkv-test-check (equal (buffer-string) expected)
                         (format "%s: the buffer holds what the item's edit says" what)
                         (list :buffer (buffer-string) :expected expected :item item))))))

(with-current-buffer (rwkv-test-file "add.py" "def add(a, b):\n    return a")
  (python-mode)
  (apply #'eglot (eglot--guess-contact))
  (let ((server (rwkv-test-wait 60 #'eglot-current-server)))
    (unless (rwkv-test-check server "Eglot connects to rwkv-lsp")
      (rwkv-test-finish))
    (rwkv-test-check (equal (plist-get (eglot--server-info server) :name) "rwkv-lsp") "the server is rwkv-lsp"
                     (eglot--server-info server))
    ;; In a word: "return a" -> the item replaces "a" with "a" + the suggestion.
    (rwkv-test-complete-here server "after a word")
    ;; Typing on (incremental changes), then after punctuation (no word before the cursor).
    (goto-char (point-max))
    (insert "\n\nprint(add(1, ")
    (rwkv-test-complete-here server "after typing on")
    ;; An edit above the cursor, then completing at the end again.
    (goto-char (point-min))
    (insert "# sums\n")
    (goto-char (point-max))
    (insert "\nfor i in range(10):\n    print(i")
    (rwkv-test-complete-here server "after an edit above")
    ;; shutdown and exit (sent with "params": null by jsonrpc.el): the server exits by itself,
    ;; with status 0. (eglot-shutdown would not wait: it deletes the process right away.)
    (let ((process (jsonrpc--process server)))
      (setf (eglot--shutdown-requested server) t)
      (rwkv-test-check (null (jsonrpc-request server :shutdown nil :timeout 10)) "shutdown is answered")
      (jsonrpc-notify server :exit nil)
      (rwkv-test-check (rwkv-test-wait 10 (lambda () (not (process-live-p process)))) "the server exits on exit")
      (rwkv-test-check (eql (process-exit-status process) 0) "with status 0" (process-exit-status process)))))

(rwkv-test-finish)
;;; test_eglot.el ends here
