#include "lsp/transport.hpp"

namespace rwkv::lsp {

std::string_view to_string(transport_status status) {
  switch (status) {
    case transport_status::stopped:
      return "stopped";
    case transport_status::closed:
      return "closed by the client";
    case transport_status::truncated:
      return "closed by the client in the middle of a message";
    case transport_status::failed:
      return "failed";
  }
  return "unknown";
}

bool deliver_messages(message_reader& reader, transport_handler& handler) {
  while (auto event = reader.next()) {
    if (event->what == framing_event::kind::error) {
      handler.on_transport_error(event->text);
    } else if (!handler.on_message(std::move(event->text))) {
      return false;
    }
  }
  return true;
}

}  // namespace rwkv::lsp
