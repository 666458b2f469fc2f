/* Round-trip check of the generated mrbot_protocol.h against the Python codec.
 *
 *   roundtrip crc     prints the CRC-32 of "123456789" as 8 hex digits
 *   roundtrip encode  builds the sample message of every type (firmware_interfaces.samples) from
 *                     the packed structs and prints "<type> <wire hex incl. 0x00>" per line
 *   roundtrip echo    reads one frame per line (wire hex without the 0x00 delimiter), decodes it
 *                     and prints "OK <type> <seq> <re-encoded wire hex>" or "ERR <result>"
 *
 * Hand-written on purpose: it exercises the generated structs, enums and routines the way
 * firmware would. The sample values must match firmware_interfaces/samples.py.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mrbot_protocol.h"

#define SEQ_BASE 0x1200u

static void print_hex(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; ++i) {
        printf("%02x", data[i]);
    }
}

/* Encodes one payload and prints it; the seq is SEQ_BASE + the type's index in catalog order. */
static int emit(uint8_t type, unsigned index, const void *payload, size_t len)
{
    uint8_t wire[MRBOT_MAX_WIRE_BYTES];
    size_t n = mrbot_frame_encode(type, (uint16_t)(SEQ_BASE + index), payload, (uint8_t)len, wire,
                                  sizeof wire);
    if (n == 0u || mrbot_payload_validate(type, (const uint8_t *)payload, (uint8_t)len) != MRBOT_OK) {
        fprintf(stderr, "encode failed for type 0x%02x\n", type);
        return 1;
    }
    printf("%02x ", type);
    print_hex(wire, n);
    printf("\n");
    return 0;
}

static int encode_samples(void)
{
    int failures = 0;
    unsigned index = 0;
    uint8_t buffer[MRBOT_MAX_PAYLOAD_BYTES];

    mrbot_hello_t hello = {MRBOT_PROTOCOL_VERSION_MAJOR, MRBOT_PROTOCOL_VERSION_MINOR,
                           MRBOT_MAX_PAYLOAD_BYTES, 0xDEADBEEFu};
    failures += emit(MRBOT_MSG_HELLO, index++, &hello, sizeof hello);

    mrbot_heartbeat_t heartbeat = {1000001u};
    failures += emit(MRBOT_MSG_HEARTBEAT, index++, &heartbeat, sizeof heartbeat);

    mrbot_enable_t enable = {0x0Fu};
    failures += emit(MRBOT_MSG_ENABLE, index++, &enable, sizeof enable);
    mrbot_disable_t disable = {0x04u};
    failures += emit(MRBOT_MSG_DISABLE, index++, &disable, sizeof disable);
    mrbot_home_t home = {0x03u};
    failures += emit(MRBOT_MSG_HOME, index++, &home, sizeof home);

    {
        mrbot_move_t move = {4711u, 2500u, 4u};
        const mrbot_move_axis_t axes[4] = {
            {15000, 10000}, {-7500, 10000}, {1570796, 785398}, {0, 5000}};
        memcpy(buffer, &move, sizeof move);
        memcpy(buffer + sizeof move, axes, sizeof axes);
        failures += emit(MRBOT_MSG_MOVE, index++, buffer, sizeof move + sizeof axes);
    }

    mrbot_jog_t jog = {2u, -1250, 200u};
    failures += emit(MRBOT_MSG_JOG, index++, &jog, sizeof jog);

    mrbot_stop_t stop = {MRBOT_STOP_CATEGORY_CAT1};
    failures += emit(MRBOT_MSG_STOP, index++, &stop, sizeof stop);
    failures += emit(MRBOT_MSG_ESTOP, index++, NULL, MRBOT_ESTOP_PAYLOAD_BYTES);
    failures += emit(MRBOT_MSG_CLEAR_FAULT, index++, NULL, MRBOT_CLEAR_FAULT_PAYLOAD_BYTES);

    mrbot_set_param_t set_param = {MRBOT_PARAM_ID_SOFT_LIMIT_MAX_UM, 1u, 85000};
    failures += emit(MRBOT_MSG_SET_PARAM, index++, &set_param, sizeof set_param);
    mrbot_get_param_t get_param = {MRBOT_PARAM_ID_WATCHDOG_MS, MRBOT_NO_AXIS};
    failures += emit(MRBOT_MSG_GET_PARAM, index++, &get_param, sizeof get_param);

    {
        mrbot_ident_t ident = {MRBOT_PROTOCOL_VERSION_MAJOR, MRBOT_PROTOCOL_VERSION_MINOR, 2u, 3u,
                               14u, 0xDEADBEEFu,
                               MRBOT_CAPABILITY_ENCODERS | MRBOT_CAPABILITY_LIMIT_SWITCHES
                                   | MRBOT_CAPABILITY_PRESSURE_SENSORS | MRBOT_CAPABILITY_ESTOP_INPUT
                                   | MRBOT_CAPABILITY_WATCHDOG | MRBOT_CAPABILITY_HOMING,
                               250u, 10u, 4u};
        const mrbot_ident_axis_t kinds[4] = {{MRBOT_AXIS_KIND_PNEUMATIC_STEPPER_LINEAR},
                                             {MRBOT_AXIS_KIND_PNEUMATIC_STEPPER_LINEAR},
                                             {MRBOT_AXIS_KIND_PIEZO_ROTARY},
                                             {MRBOT_AXIS_KIND_PIEZO_LINEAR}};
        memcpy(buffer, &ident, sizeof ident);
        memcpy(buffer + sizeof ident, kinds, sizeof kinds);
        failures += emit(MRBOT_MSG_IDENT, index++, buffer, sizeof ident + sizeof kinds);
    }

    mrbot_ack_t ack = {41u, MRBOT_MSG_MOVE};
    failures += emit(MRBOT_MSG_ACK, index++, &ack, sizeof ack);
    mrbot_nack_t nack = {42u, MRBOT_MSG_MOVE, MRBOT_NACK_REASON_NOT_HOMED};
    failures += emit(MRBOT_MSG_NACK, index++, &nack, sizeof nack);

    {
        const uint16_t moving =
            MRBOT_AXIS_STATUS_ENABLED | MRBOT_AXIS_STATUS_HOMED | MRBOT_AXIS_STATUS_MOVING;
        const uint16_t arrived = moving | MRBOT_AXIS_STATUS_IN_POSITION;
        mrbot_telemetry_t telemetry = {1234567890123ull, 0u, MRBOT_FIRMWARE_STATE_MOVING, 4711u, 4u};
        const mrbot_axis_telemetry_t axes[4] = {
            {-27500, -27537, -2000, moving, 6200u, MRBOT_LIMIT_SWITCH_HOME},
            {-15000, -15074, -500, arrived, 6185u, 0u},
            {-2500, -2611, 1000, moving, 0u, 0u},
            {10000, 9852, 2500, arrived, 0u, 0u},
        };
        memcpy(buffer, &telemetry, sizeof telemetry);
        memcpy(buffer + sizeof telemetry, axes, sizeof axes);
        failures += emit(MRBOT_MSG_TELEMETRY, index++, buffer, sizeof telemetry + sizeof axes);
    }

    mrbot_param_value_t param_value = {MRBOT_PARAM_ID_WATCHDOG_MS, MRBOT_NO_AXIS, 250};
    failures += emit(MRBOT_MSG_PARAM_VALUE, index++, &param_value, sizeof param_value);
    mrbot_fault_t fault = {MRBOT_FAULT_CODE_FOLLOWING_ERROR, 1u, -1850};
    failures += emit(MRBOT_MSG_FAULT, index++, &fault, sizeof fault);
    return failures == 0 ? 0 : 1;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int echo(void)
{
    static char line[4 * MRBOT_MAX_WIRE_BYTES + 16];
    uint8_t wire[2 * MRBOT_MAX_WIRE_BYTES];
    while (fgets(line, sizeof line, stdin) != NULL) {
        size_t n = 0;
        for (size_t i = 0; line[i] != '\0' && line[i] != '\n'; i += 2) {
            int hi = hex_value(line[i]);
            int lo = line[i + 1] == '\0' ? -1 : hex_value(line[i + 1]);
            if (hi < 0 || lo < 0 || n >= sizeof wire) {
                fprintf(stderr, "bad input line\n");
                return 2;
            }
            wire[n++] = (uint8_t)(hi * 16 + lo);
        }
        mrbot_frame_t frame;
        int result = mrbot_frame_decode(wire, n, &frame);
        if (result != MRBOT_OK) {
            printf("ERR %d\n", result);
            continue;
        }
        uint8_t out[MRBOT_MAX_WIRE_BYTES];
        size_t m = mrbot_frame_encode(frame.type, frame.seq, frame.payload, frame.len, out, sizeof out);
        if (m == 0u) {
            printf("ERR encode\n");
            continue;
        }
        printf("OK %02x %u ", frame.type, (unsigned)frame.seq);
        print_hex(out, m);
        printf("\n");
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "crc") == 0) {
        printf("%08lx\n", (unsigned long)mrbot_crc32((const uint8_t *)"123456789", 9u));
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "encode") == 0) {
        return encode_samples();
    }
    if (argc == 2 && strcmp(argv[1], "echo") == 0) {
        return echo();
    }
    fprintf(stderr, "usage: %s crc|encode|echo\n", argv[0]);
    return 2;
}
