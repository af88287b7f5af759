;;; harness.el --- shared by the batch-mode Emacs tests  -*- lexical-binding: t; -*-
;; Checks that count, waiting, and Debian's ELPA packages (elpa-eglot, elpa-lsp-mode) activated
;; in a session started with -Q. A script ends with (rwkv-test-finish): exit 0 when every check
;; passed, 1 otherwise; (rwkv-test-skip WHY) exits 77, which ctest reports as skipped.

(require 'package)
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
(setq package-user-dir (expand-file-name "elpa" (getenv "RWKV_LSP_TEST_DIR")))
(package-initialize)

(defvar rwkv-test-passed 0)
(defvar rwkv-test-failed 0)

(defun rwkv-test-check (ok what &optional detail)
  "Count OK as a passed or failed check described by WHAT (and DETAIL on failure)."
  (if ok
      (setq rwkv-test-passed (1+ rwkv-test-passed))
    (setq rwkv-test-failed (1+ rwkv-test-failed))
    (message "FAILED: %s%s" what (if detail (format " (%S)" detail) "")))
  ok)

(defun rwkv-test-wait (seconds pred)
  "Process events until PRED returns non-nil or SECONDS pass; PRED's last value."
  (let ((deadline (+ (float-time) seconds)) v)
    (while (and (not (setq v (funcall pred))) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    v))

(defun rwkv-test-skip (why)
  (message "skipped: %s" why)
  (kill-emacs 77))

(defun rwkv-test-finish ()
  (message "%d checks passed, %d failed" rwkv-test-passed rwkv-test-failed)
  (kill-emacs (if (and (> rwkv-test-passed 0) (= rwkv-test-failed 0)) 0 1)))

(defun rwkv-test-file (name text)
  "A file NAME holding TEXT in a fresh project folder, visited, point at its end."
  (let* ((dir (expand-file-name "project" (getenv "RWKV_LSP_TEST_DIR")))
         (file (expand-file-name name dir)))
    (make-directory dir t)
    (with-temp-file file (insert text))
    (find-file file)
    (goto-char (point-max))
    (current-buffer)))

(defun rwkv-test-apply-edit (text edit-range new-text)
  "TEXT (a one-buffer string, lines from 0) with the LSP range EDIT-RANGE replaced by NEW-TEXT.
Columns are counted in characters: the tests keep to ASCII lines."
  (with-temp-buffer
    (insert text)
    (cl-flet ((pos (p) (goto-char (point-min))
                   (forward-line (plist-get p :line))
                   (+ (point) (plist-get p :character))))
      (let ((beg (pos (plist-get edit-range :start))) (end (pos (plist-get edit-range :end))))
        (delete-region beg end)
        (goto-char beg)
        (insert new-text)))
    (buffer-string)))

(require 'cl-lib)
;;; harness.el ends here
