-- Neovim's own LSP client (vim.lsp, as in Debian's 0.7.2) against rwkv-lsp: start, open a C
-- file, type into the buffer (incremental didChange), textDocument/completion and
-- textDocument/inlineCompletion, a cancelled request and a superseded one, shutdown.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h") .. "/harness.lua")

local function request(client, method, params, bufnr, timeout)
  local done, answer = false, nil
  local ok, id = client.request(method, params, function(err, result)
    answer = { err = err, result = result }
    done = true
  end, bufnr)
  H.check(ok, method .. " was sent")
  H.wait(timeout or 60000, function()
    return done
  end)
  return answer, id
end

local function position_at_end(buf)
  local last = vim.api.nvim_buf_line_count(buf) - 1
  local line = vim.api.nvim_buf_get_lines(buf, last, last + 1, false)[1]
  local _, utf16 = vim.str_utfindex(line, #line)
  return { line = last, character = utf16 }
end

H.run(function()
  vim.lsp.set_log_level("debug") -- the test reads cancellation answers from the log
  local shown = {}
  local id, client = H.start_server({
    ["window/showMessage"] = function(_, result)
      table.insert(shown, result)
    end,
  })
  local caps = client.server_capabilities or client.resolved_capabilities
  H.check(caps.inlineCompletionProvider ~= nil, "inlineCompletionProvider is announced", caps)
  H.check(caps.completionProvider ~= nil, "completionProvider is announced")

  -- "é" makes UTF-16 columns differ from bytes on that line.
  local buf = H.open_file("main.c", "#include <stdio.h>\n\n/* caf\xc3\xa9 */\nint main(void) {\n    int n = 10;\n", "c")
  H.check(vim.lsp.buf_attach_client(buf, id), "the buffer is attached")
  H.type_at_end(buf, "\n    for (int i = 0; i < n; ")

  local pos = position_at_end(buf)
  local params = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = pos, context = { triggerKind = 1 } }
  local inline = request(client, "textDocument/inlineCompletion", params, buf)
  H.check(inline and inline.err == nil and inline.result ~= nil, "inlineCompletion answered", inline)
  local items = inline and inline.result and (inline.result.items or inline.result) or {}
  H.check(#items >= 1, "at least one inline suggestion", inline)
  local first = items[1] and items[1].insertText
  if type(first) == "table" then
    first = first.value
  end
  H.check(type(first) == "string" and first:match("%S") ~= nil, "the suggestion is not blank", first)
  if items[1] and items[1].range then
    H.check(items[1].range.start.line == pos.line and items[1].range.start.character == pos.character,
      "the suggestion starts at the cursor", items[1].range)
  end
  local completion = request(client, "textDocument/completion",
    { textDocument = params.textDocument, position = pos, context = { triggerKind = 1 } }, buf)
  H.check(completion and completion.err == nil, "completion answered", completion)
  local list = completion and completion.result or {}
  local citems = list.items or list
  H.check(#citems >= 1 and citems[1].textEdit ~= nil and citems[1].textEdit.newText:match("%S") ~= nil,
    "one completion item inserts the suggestion", list)
  if #citems >= 1 and citems[1].textEdit then
    H.check(citems[1].textEdit.range.start.line == pos.line, "its edit starts on the cursor's line")
  end

  -- In a word ("i < n; i"): the item completes the word. 'omnifunc' (vim.lsp.omnifunc) inserts
  -- Neovim's complete-item word over the keyword before the cursor, so that word must be the
  -- keyword followed by the suggestion, as the item's edit says.
  H.type_at_end(buf, "i")
  local wpos = position_at_end(buf)
  local in_word = request(client, "textDocument/completion",
    { textDocument = params.textDocument, position = wpos, context = { triggerKind = 1 } }, buf)
  local witems = in_word and in_word.result and (in_word.result.items or in_word.result) or {}
  if H.check(#witems >= 1 and witems[1].textEdit ~= nil, "a completion item in a word", in_word) then
    local edit = witems[1].textEdit
    H.check(edit.range.start.character == wpos.character - 1 and edit.range.start.line == wpos.line,
      "its edit starts at the word", edit.range)
    local complete_items = vim.lsp.util.text_document_completion_list_to_complete_items(in_word.result, "i")
    H.check(#complete_items >= 1 and complete_items[1].word == edit.newText and edit.newText:sub(1, 1) == "i",
      "Neovim's complete-item word is the word followed by the suggestion", complete_items)
  end

  -- Typing on a line with a non-ASCII character: positions stay in step (UTF-16 vs bytes).
  vim.api.nvim_buf_set_text(buf, 2, 8, 2, 8, { "!" })
  local cafe = request(client, "textDocument/inlineCompletion", {
    textDocument = params.textDocument, position = { line = 2, character = 8 }, context = { triggerKind = 2 },
  }, buf)
  H.check(cafe and cafe.err == nil, "a request after an edit on a non-ASCII line is answered", cafe)

  -- A cancelled request is answered: -32800 or its result, never nothing. Neovim (0.7 .. 0.10)
  -- drops a -32800 answer without calling the handler and logs "Received cancellation ack", so
  -- the answer is looked for in the handler and in the LSP log.
  local function answered(rid, answer)
    return function()
      if answer() ~= nil then
        return true
      end
      local f = io.open(vim.lsp.get_log_path(), "r")
      if not f then
        return false
      end
      local log = f:read("*a")
      f:close()
      for line in log:gmatch("[^\n]+") do
        if line:find("cancellation ack", 1, true) and line:find("code = %-32800") and line:find("id = " .. rid .. ",", 1, true) then
          return true
        end
      end
      return false
    end
  end
  local cancelled_answer = nil
  local ok, rid = client.request("textDocument/inlineCompletion", params, function(err, result)
    cancelled_answer = { err = err, result = result }
  end, buf)
  H.check(ok, "a request to cancel was sent")
  client.cancel_request(rid)
  H.check(H.wait(60000, answered(rid, function()
    return cancelled_answer
  end)), "the cancelled request was answered (-32800 or a result)")
  if cancelled_answer and cancelled_answer.err then
    H.check(cancelled_answer.err.code == -32800, "cancelled with -32800", cancelled_answer.err)
  end

  -- A newer request for the same document supersedes an older one; both are answered.
  local older, newer = nil, nil
  local _, older_id = client.request("textDocument/inlineCompletion", params, function(err, result)
    older = { err = err, result = result }
  end, buf)
  client.request("textDocument/inlineCompletion", params, function(err, result)
    newer = { err = err, result = result }
  end, buf)
  H.check(H.wait(60000, function()
    return newer ~= nil
  end), "the newer of two overlapping requests was answered")
  H.check(newer and newer.err == nil, "the newer request got a result", newer)
  H.check(H.wait(60000, answered(older_id, function()
    return older
  end)), "the older (superseded) request was answered too")

  H.check(#vim.tbl_filter(function(m)
    return m.type == 1
  end, shown) == 0, "no error was shown", shown)

  if H.trained then
    -- Only meaningful with the trained code model: it completes a standard header's name and
    -- closes the bracket.
    local include = H.open_file("io.c", "#include <stdio.h>\n", "c")
    vim.lsp.buf_attach_client(include, id)
    H.type_at_end(include, "\n#include <std")
    local r = request(client, "textDocument/inlineCompletion", {
      textDocument = { uri = vim.uri_from_bufnr(include) }, position = position_at_end(include), context = { triggerKind = 1 },
    }, include)
    local items2 = r and r.result and (r.result.items or r.result) or {}
    local text = items2[1] and items2[1].insertText
    if type(text) == "table" then
      text = text.value
    end
    H.check(type(text) == "string" and text:match("^[%w_%./]*>") ~= nil,
      "the trained model completes #include <std with a header name and '>'", text)
  end

  client.stop()
  H.check(H.wait(10000, function()
    return client.is_stopped()
  end), "the server stopped")
  H.finish()
end)
