-- Shared by the headless Neovim tests: checks that count, the server command from the
-- environment (set by run_nvim_test.sh), and an exit status for ctest.
local H = { passed = 0, failed = 0 }

function H.log(fmt, ...)
  io.stderr:write(string.format(fmt, ...) .. "\n")
end

function H.check(cond, what, detail)
  if cond then
    H.passed = H.passed + 1
  else
    H.failed = H.failed + 1
    H.log("FAILED: %s%s", what, detail and (" (" .. vim.inspect(detail) .. ")") or "")
  end
  return cond
end

function H.wait(ms, cond)
  return vim.wait(ms, cond, 20)
end

function H.env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    return default
  end
  return v
end

H.trained = H.env("RWKV_LSP_TEST_TRAINED", "0") == "1"
H.dir = H.env("RWKV_LSP_TEST_DIR", vim.fn.tempname())
vim.fn.mkdir(H.dir, "p")

-- rwkv-lsp serve with the test model; small answers so that the golden models stay quick.
function H.server_cmd()
  local cmd = { H.env("RWKV_LSP_BIN", "rwkv-lsp"), "serve", "--threads", "2", "--max-tokens", "24", "--temperature", "0",
    "--time-budget-ms", "20000" }
  local model, vocab = H.env("RWKV_LSP_TEST_MODEL", ""), H.env("RWKV_LSP_TEST_VOCAB", "")
  if model ~= "" then
    vim.list_extend(cmd, { "--model", model })
  end
  if vocab ~= "" then
    vim.list_extend(cmd, { "--vocab", vocab })
  end
  return cmd
end

-- Starts rwkv-lsp with Neovim's own client (vim.lsp.start_client) and waits for initialize;
-- `handlers` go to the client. Returns the client id and the client.
function H.start_server(handlers)
  local initialized = false
  local id = vim.lsp.start_client({
    name = "rwkv-lsp",
    cmd = H.server_cmd(),
    root_dir = H.dir,
    flags = { debounce_text_changes = 0 },
    on_init = function()
      initialized = true
    end,
    handlers = handlers,
  })
  H.check(id ~= nil, "vim.lsp.start_client started rwkv-lsp")
  H.check(H.wait(30000, function()
    return initialized
  end), "the server answered initialize")
  return id, id and vim.lsp.get_client_by_id(id)
end

-- Writes `text` to H.dir/name and opens it in the current window.
function H.open_file(name, text, filetype)
  local path = H.dir .. "/" .. name
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  vim.cmd("edit " .. vim.fn.fnameescape(path))
  local buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_buf_set_option(buf, "filetype", filetype)
  return buf, path
end

-- Types `text` at the end of the buffer one character at a time (each an incremental didChange).
function H.type_at_end(buf, text)
  for i = 1, #text do
    local ch = text:sub(i, i)
    local last = vim.api.nvim_buf_line_count(buf) - 1
    local line = vim.api.nvim_buf_get_lines(buf, last, last + 1, false)[1]
    if ch == "\n" then
      vim.api.nvim_buf_set_text(buf, last, #line, last, #line, { "", "" })
    else
      vim.api.nvim_buf_set_text(buf, last, #line, last, #line, { ch })
    end
  end
end

function H.finish()
  H.log("%d passed, %d failed", H.passed, H.failed)
  io.stdout:write(string.format("%d passed, %d failed\n", H.passed, H.failed))
  if H.failed == 0 then
    vim.cmd("qall!")
  else
    vim.cmd("cquit 1")
  end
end

-- Runs `main`, turning a Lua error into a failure with its traceback.
function H.run(main)
  local ok, err = xpcall(main, debug.traceback)
  if not ok then
    H.failed = H.failed + 1
    H.log("ERROR: %s", err)
    H.finish()
  end
end

return H
