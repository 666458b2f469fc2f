// Interop client for mrbot's OpenIGTLink server, built against Debian's libopenigtlink-dev
// (the reference implementation, protocol 2, header v1 only).
//
// Usage: igtl_ack_client <host> <port> <expected STATUS count>
//
// Sends STRING(CMD_0001, "START_UP") and TRANSFORM(CLB_0002, M), then reads frames until it has
// the ACK string, the ACK transform and the expected number of STATUS messages. Every frame is
// unpacked with the library's CRC check (Unpack(1)). Prints one line per frame on stdout:
//   ACK_STRING <name> <encoding> <text>
//   ACK_TRANSFORM <name> bitexact=<0|1>
//   STATUS <name> <code> <subcode> <error name> |<message>|
// Exit code 0 when everything arrived with a valid CRC, 1 on any failure (reason on stderr).

#include <cstdio>
#include <cstring>
#include <string>

#include "igtlClientSocket.h"
#include "igtlMessageHeader.h"
#include "igtlStatusMessage.h"
#include "igtlStringMessage.h"
#include "igtlTransformMessage.h"

namespace {

int fail(const std::string& why) {
  std::fprintf(stderr, "igtl_ack_client: %s\n", why.c_str());
  return 1;
}

}  // namespace

int main(int argc, char* argv[]) {
  if (argc != 4) {
    return fail("usage: igtl_ack_client <host> <port> <expected STATUS count>");
  }
  const int expected_status = std::atoi(argv[3]);
  igtl::ClientSocket::Pointer socket = igtl::ClientSocket::New();
  if (socket->ConnectToServer(argv[1], std::atoi(argv[2])) != 0) {
    return fail("cannot connect");
  }
  socket->SetReceiveTimeout(5000);  // ms; the test's subprocess time-out is the backstop

  igtl::StringMessage::Pointer command = igtl::StringMessage::New();
  command->SetDeviceName("CMD_0001");
  command->SetEncoding(3);
  command->SetString("START_UP");
  command->Pack();
  socket->Send(command->GetPackPointer(), command->GetPackSize());

  igtl::Matrix4x4 sent;
  const float values[4][4] = {{0.0f, -1.0f, 0.0f, 10.25f},
                              {1.0f, 0.0f, 0.0f, -20.5f},
                              {0.0f, 0.0f, 1.0f, 30.125f},
                              {0.0f, 0.0f, 0.0f, 1.0f}};
  std::memcpy(sent, values, sizeof(values));
  igtl::TransformMessage::Pointer calibration = igtl::TransformMessage::New();
  calibration->SetDeviceName("CLB_0002");
  calibration->SetMatrix(sent);
  calibration->Pack();
  socket->Send(calibration->GetPackPointer(), calibration->GetPackSize());
  const std::string sent_body(static_cast<const char*>(calibration->GetPackBodyPointer()),
                              calibration->GetPackBodySize());

  bool got_string = false;
  bool got_transform = false;
  int got_status = 0;
  igtl::MessageHeader::Pointer header = igtl::MessageHeader::New();
  while (!got_string || !got_transform || got_status < expected_status) {
    header->InitPack();
    const int r = socket->Receive(header->GetPackPointer(), header->GetPackSize());
    if (r != header->GetPackSize()) {
      return fail("header not received (EOF or time-out)");
    }
    header->Unpack();
    const std::string type = header->GetDeviceType();
    if (type == "STRING") {
      igtl::StringMessage::Pointer msg = igtl::StringMessage::New();
      msg->SetMessageHeader(header);
      msg->AllocatePack();
      socket->Receive(msg->GetPackBodyPointer(), msg->GetPackBodySize());
      if (!(msg->Unpack(1) & igtl::MessageHeader::UNPACK_BODY)) {
        return fail("STRING failed the CRC check");
      }
      std::printf("ACK_STRING %s %d %s\n", msg->GetDeviceName(), msg->GetEncoding(),
                  msg->GetString());
      got_string = true;
    } else if (type == "TRANSFORM") {
      igtl::TransformMessage::Pointer msg = igtl::TransformMessage::New();
      msg->SetMessageHeader(header);
      msg->AllocatePack();
      socket->Receive(msg->GetPackBodyPointer(), msg->GetPackBodySize());
      const std::string body(static_cast<const char*>(msg->GetPackBodyPointer()),
                             msg->GetPackBodySize());
      if (!(msg->Unpack(1) & igtl::MessageHeader::UNPACK_BODY)) {
        return fail("TRANSFORM failed the CRC check");
      }
      std::printf("ACK_TRANSFORM %s bitexact=%d\n", msg->GetDeviceName(),
                  body == sent_body ? 1 : 0);
      got_transform = true;
    } else if (type == "STATUS") {
      igtl::StatusMessage::Pointer msg = igtl::StatusMessage::New();
      msg->SetMessageHeader(header);
      msg->AllocatePack();
      socket->Receive(msg->GetPackBodyPointer(), msg->GetPackBodySize());
      if (!(msg->Unpack(1) & igtl::MessageHeader::UNPACK_BODY)) {
        return fail("STATUS failed the CRC check");
      }
      std::printf("STATUS %s %d %lld %s |%s|\n", msg->GetDeviceName(), msg->GetCode(),
                  static_cast<long long>(msg->GetSubCode()), msg->GetErrorName(),
                  msg->GetStatusString());
      ++got_status;
    } else {
      return fail("unexpected TYPE " + type);
    }
    std::fflush(stdout);
  }
  socket->CloseSocket();
  return 0;
}
