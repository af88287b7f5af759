;;; test_lsp_mode.el --- lsp-mode with plugin/editors/emacs/rwkv-lsp-lsp-mode.el  -*- lexical-binding: t; -*-
;; Debian 12's Emacs 28 with elpa-lsp-mode (8.0): rwkv-lsp as the shipped add-on client (built-in
;; model) in a Python buffer; complete in a word and after typing on, as Company or Corfu would,
;; checking that the buffer ends as the item's edit says; shut the server down.

(unless (require 'lsp-mode nil t)
  (rwkv-test-skip "lsp-mode is not installed (apt-get install elpa-lsp-mode)"))
(setq lsp-enable-file-watchers nil lsp-restart 'ignore lsp-keep-workspace-alive nil lsp-enable-snippet nil
      lsp-session-file (expand-file-name "lsp-session" (getenv "RWKV_LSP_TEST_DIR")))
(load (expand-file-name "rwkv-lsp-lsp-mode.el" (getenv "RWKV_LSP_EMACS_PLUGIN")))

(defun rwkv-test-complete-here (what)
  "Complete at point and check that the buffer ends as the server's item says."
  (let* ((before (buffer-string))
         (capf (lsp-completion-at-point))
         (candidates (and capf (all-completions "" (nth 2 capf))))
         (item (and candidates (get-text-property 0 'lsp-completion-item (car candidates))))
         (edit (and item (gethash "textEdit" item))))
    (when (rwkv-test-check edit (format "%s: completion-at-point offers the server's item" what) candidates)
      (let* ((range (gethash "range" edit))
             (pos (lambda (p) (list :line (gethash "line" p) :character (gethash "character" p))))
             (expected (rwkv-test-apply-edit before
                                             (list :start (funcall pos (gethash "start" range))
                                                   :end (funcall pos (gethash "end" range)))
                                             (gethash "newText" edit))))
        ;; As Company and Corfu finish a completion: the candidate over the text the capf
        ;; covers, then the exit function. (Plain completion-at-point never calls lsp-mode
        ;; 8.0's exit function for a sole candidate and leaves only the label inserted.)
        (let ((candidate (car candidates)))
          (delete-region (nth 0 capf) (nth 1 capf))
          (goto-char (nth 0 capf))
          (insert candidate)
          (funcall (plist-get (nthcdr 3 capf) :exit-function) candidate 'finished))
        (rwkv-test-check (equal (buffer-string) expected)
                         (format "%s: the buffer holds what the item's edit says" what)
                         (list :buffer (buffer-string) :expected expected))))))

(with-current-buffer (rwkv-test-file "add.py" "def add(a, b):\n    return a")
  (python-mode)
  (lsp-workspace-folders-add default-directory)  ; no prompt for the project root
  (lsp)
  (let ((workspace (rwkv-test-wait 60 (lambda ()
                                        (seq-find (lambda (w) (eq (lsp--workspace-status w) 'initialized))
                                                  (lsp-workspaces))))))
    (unless (rwkv-test-check workspace "lsp-mode starts rwkv-lsp" (lsp-workspaces))
      (rwkv-test-finish))
    (rwkv-test-check (eq (lsp--client-server-id (lsp--workspace-client workspace)) 'rwkv-lsp) "the client is rwkv-lsp")
    (rwkv-test-complete-here "after a word")
    (goto-char (point-max))
    (insert "\n\nprint(add(1, ")
    (rwkv-test-complete-here "after typing on")
    ;; shutdown and exit as lsp-mode sends them ("params": null); the server exits by itself, with
    ;; status 0. (lsp-workspace-shutdown would not wait: it kills the process right away.)
    (let ((process (lsp--workspace-proc workspace)))
      (with-lsp-workspace workspace
        (rwkv-test-check (null (lsp-request "shutdown" nil)) "shutdown is answered")
        (lsp-notify "exit" nil))
      (rwkv-test-check (rwkv-test-wait 10 (lambda () (not (process-live-p process)))) "the server exits on exit")
      (rwkv-test-check (eql (process-exit-status process) 0) "with status 0" (process-exit-status process)))))

(rwkv-test-finish)
;;; test_lsp_mode.el ends here
