// HTTPS connections: Beast's ssl_stream (which coalesces the header and
// body of a response into one TLS record) over a tcp_stream.
#include <boost/beast/ssl/ssl_stream.hpp>

#include "server/http_session.h"

namespace signet::server::internal {

void StartTlsSession(ServerState& state, net::ip::tcp::socket socket, net::ssl::context& tls,
                     bool reject) {
  std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(state, std::move(socket), reject,
                                                                  tls)
      ->Start();
}

}  // namespace signet::server::internal
