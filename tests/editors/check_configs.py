#!/usr/bin/env python3
"""Checks the editor configuration files in plugin/editors against the server.

Editors whose client is configured by a file (Helix, Kate, Sublime Text, Emacs) cannot run here, so
this checks what can go wrong in such a file: it must parse (TOML, JSON, JSON with comments, Emacs
Lisp with balanced forms), start `rwkv-lsp serve`, and send only settings the server reads. The
VS Code extension's settings must be exactly the server's. The server's settings are the names
lsp/src/service_settings.cpp reads.

usage: check_configs.py SOURCE_DIR
"""
import json
import re
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11
    print("skipped: this Python has no tomllib (3.11 or later needed)")
    sys.exit(77)

failures = []


def check(ok, what):
    print(("ok     " if ok else "FAILED ") + what)
    if not ok:
        failures.append(what)


def server_settings(src):
    text = (src / "lsp/src/service_settings.cpp").read_text()
    names = set(re.findall(r'read\(update, "([A-Za-z]+)"', text))
    check(len(names) >= 10, f"the server reads {len(names)} settings: {sorted(names)}")
    return names


def check_command(editor, command):
    check(list(command) == ["rwkv-lsp", "serve"], f"{editor}: starts `rwkv-lsp serve` ({command})")


def check_options(editor, options, settings):
    unknown = sorted(set(options) - settings)
    check(not unknown, f"{editor}: initialization options are server settings ({sorted(options)})"
          + (f", unknown: {unknown}" if unknown else ""))


def strip_line_comments(text):
    """// comments outside strings, as Sublime Text allows in its settings files."""
    out, i, in_string = [], 0, False
    while i < len(text):
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def lisp_forms_balanced(text):
    """Whether every ( and [ closes, outside strings, ; comments and ?x character literals."""
    stack, i = [], 0
    pairs = {")": "(", "]": "["}
    while i < len(text):
        c = text[i]
        if c == ";":
            while i < len(text) and text[i] != "\n":
                i += 1
        elif c == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "?":
            i += 2 if i + 1 < len(text) and text[i + 1] == "\\" else 1
        elif c in "([":
            stack.append(c)
        elif c in ")]":
            if not stack or stack.pop() != pairs[c]:
                return False
        i += 1
    return not stack


def main(src):
    settings = server_settings(src)
    editors = src / "plugin/editors"

    # VS Code: every server setting is a contributed setting, and the extension forwards each.
    package = json.loads((editors / "vscode/package.json").read_text())
    contributed = {k.split(".", 1)[1] for k in package["contributes"]["configuration"]["properties"]}
    extension = (editors / "vscode/src/extension.ts").read_text()
    forwarded = set(re.findall(r"'([A-Za-z]+)'", re.search(r"serverKeys = \[(.*?)\]", extension, re.S).group(1)))
    check(contributed - {"serverPath", "serverArgs"} == settings,
          f"vscode: package.json contributes every server setting (missing {sorted(settings - contributed)}, "
          f"extra {sorted(contributed - settings - {'serverPath', 'serverArgs'})})")
    check(forwarded == settings, f"vscode: the extension forwards every server setting (missing "
          f"{sorted(settings - forwarded)}, extra {sorted(forwarded - settings)})")

    # Helix
    helix = tomllib.loads((editors / "helix/languages.toml").read_text())
    server = helix["language-server"]["rwkv-lsp"]
    check_command("helix", [server["command"], *server.get("args", [])])
    check_options("helix", server.get("config", {}), settings)
    languages = helix.get("language", [])
    check(bool(languages) and all("rwkv-lsp" in lang["language-servers"] for lang in languages),
          f"helix: {len(languages)} languages list rwkv-lsp")

    # Kate
    kate = json.loads((editors / "kate/lspclient-settings.json").read_text())
    check(bool(kate["servers"]), f"kate: {len(kate['servers'])} languages")
    for language, entry in kate["servers"].items():
        check_command(f"kate ({language})", entry["command"])
        check_options(f"kate ({language})", entry.get("initializationOptions", {}), settings)
        re.compile(entry["highlightingModeRegex"])

    # Sublime Text (its settings files allow // comments)
    sublime = json.loads(strip_line_comments((editors / "sublime/LSP.sublime-settings").read_text()))
    client = sublime["clients"]["rwkv-lsp"]
    check_command("sublime", client["command"])
    check_options("sublime", client.get("initializationOptions", {}), settings)

    # Emacs (Eglot and lsp-mode)
    for path in sorted((editors / "emacs").glob("*.el")):
        text = path.read_text()
        check(lisp_forms_balanced(text), f"emacs: {path.name} has balanced forms")
        check('"rwkv-lsp" "serve"' in text, f"emacs: {path.name} starts rwkv-lsp serve")
        # The settings are the plist after :initializationOptions (Eglot) or in the function of
        # :initialization-options (lsp-mode): (:maxTokens 48 :maxLines 4).
        plists = re.findall(r":initialization-?[Oo]ptions\s.*?\((:[^()]*)\)", text, re.S)
        check(len(plists) == 1, f"emacs: {path.name} sends initialization options")
        options = set(re.findall(r":([A-Za-z]+)", plists[0])) if plists else set()
        check_options(f"emacs ({path.name})", options, settings)

    print(f"{len(failures)} failed" if failures else "all editor configurations check out")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
