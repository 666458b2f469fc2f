"""The catalog-independent C routines of the generated header: CRC-32, COBS and framing.

Kept as C text so that ``header.py`` emits it verbatim after the generated catalog parts; the
round-trip test (``tests/c/roundtrip.c``) compiles it with ``-Wall -Wextra -Werror -pedantic``.
"""

from __future__ import annotations

from typing import Final

__all__ = ["C_RUNTIME"]

C_RUNTIME: Final = r"""
/* ---- CRC-32/ISO-HDLC: poly 0x04C11DB7 reflected (0xEDB88320), init 0xFFFFFFFF, refin/refout
 * true, xorout 0xFFFFFFFF, check("123456789") = MRBOT_CRC_CHECK_VALUE. Bitwise: small, no table. */
static inline uint32_t mrbot_crc32(const uint8_t *data, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; ++i) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return crc ^ 0xFFFFFFFFu;
}

/* ---- COBS (Cheshire & Baker). Encoded data never contains 0x00; the delimiter is not added.
 * Returns the encoded length, or 0 when dst_cap is too small. */
static inline size_t mrbot_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_cap)
{
    size_t code_at = 0;
    size_t out = 1;
    uint8_t code = 1;
    if (dst_cap < 1u) {
        return 0;
    }
    for (size_t i = 0; i < len; ++i) {
        if (src[i] == 0u) {
            dst[code_at] = code;
            code = 1;
            code_at = out++;
            if (out > dst_cap) {
                return 0;
            }
        } else {
            if (out >= dst_cap) {
                return 0;
            }
            dst[out++] = src[i];
            ++code;
            if (code == 0xFFu) {
                dst[code_at] = code;
                code = 1;
                code_at = out;
                if (i + 1u < len) {
                    ++out;
                    if (out > dst_cap) {
                        return 0;
                    }
                }
            }
        }
    }
    if (code_at < out) {
        dst[code_at] = code;
    }
    return out;
}

/* Returns the decoded length, or -1 on an embedded 0x00, a truncated block or a full dst. */
static inline long mrbot_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_cap)
{
    size_t in = 0;
    size_t out = 0;
    while (in < len) {
        uint8_t code = src[in++];
        if (code == 0u || (size_t)(code - 1u) > len - in) {
            return -1;
        }
        for (uint8_t k = 1; k < code; ++k) {
            if (src[in] == 0u || out >= dst_cap) {
                return -1;
            }
            dst[out++] = src[in++];
        }
        if (code != 0xFFu && in < len) {
            if (out >= dst_cap) {
                return -1;
            }
            dst[out++] = 0u;
        }
    }
    return (long)out;
}

/* ---- Frames ------------------------------------------------------------------------------- */
typedef struct {
    uint8_t version;
    uint8_t type;
    uint16_t seq;
    uint8_t len;
    uint8_t payload[MRBOT_MAX_PAYLOAD_BYTES];
} mrbot_frame_t;

/* Encodes one frame: COBS(header | payload | crc32 LE) followed by 0x00.
 * Returns the wire length including the delimiter, or 0 if len or wire_cap is too large/small. */
static inline size_t mrbot_frame_encode(uint8_t type, uint16_t seq, const void *payload,
                                        uint8_t len, uint8_t *wire, size_t wire_cap)
{
    uint8_t raw[MRBOT_MAX_FRAME_BYTES];
    size_t n;
    uint32_t crc;
    if (len > MRBOT_MAX_PAYLOAD_BYTES || wire_cap < 2u) {
        return 0;
    }
    raw[0] = MRBOT_PROTOCOL_VERSION_MAJOR;
    raw[1] = type;
    raw[2] = (uint8_t)(seq & 0xFFu);
    raw[3] = (uint8_t)(seq >> 8);
    raw[4] = len;
    if (len > 0u) {
        memcpy(&raw[MRBOT_HEADER_BYTES], payload, len);
    }
    n = MRBOT_HEADER_BYTES + (size_t)len;
    crc = mrbot_crc32(raw, n);
    raw[n++] = (uint8_t)(crc & 0xFFu);
    raw[n++] = (uint8_t)((crc >> 8) & 0xFFu);
    raw[n++] = (uint8_t)((crc >> 16) & 0xFFu);
    raw[n++] = (uint8_t)(crc >> 24);
    n = mrbot_cobs_encode(raw, n, wire, wire_cap - 1u);
    if (n == 0u) {
        return 0;
    }
    wire[n++] = 0u;
    return n;
}

/* Decodes the bytes of one frame as received, without its 0x00 delimiter. Checks in the order
 * of the Python decoder: size, COBS, frame size, CRC, version, len byte, type and payload.
 * Returns MRBOT_OK or a negative mrbot_result_t. */
static inline int mrbot_frame_decode(const uint8_t *wire, size_t wire_len, mrbot_frame_t *frame)
{
    uint8_t raw[MRBOT_MAX_FRAME_BYTES + 1u];
    long decoded;
    size_t n;
    uint32_t received;
    if (wire_len > MRBOT_MAX_WIRE_BYTES - 1u) {
        return MRBOT_ERR_OVERSIZE;
    }
    decoded = mrbot_cobs_decode(wire, wire_len, raw, sizeof raw);
    if (decoded < 0) {
        return MRBOT_ERR_COBS;
    }
    n = (size_t)decoded;
    if (n < MRBOT_MIN_FRAME_BYTES) {
        return MRBOT_ERR_SHORT;
    }
    if (n > MRBOT_MAX_FRAME_BYTES) {
        return MRBOT_ERR_OVERSIZE;
    }
    n -= MRBOT_CRC_BYTES;
    received = (uint32_t)raw[n] | ((uint32_t)raw[n + 1u] << 8) | ((uint32_t)raw[n + 2u] << 16)
               | ((uint32_t)raw[n + 3u] << 24);
    if (received != mrbot_crc32(raw, n)) {
        return MRBOT_ERR_CRC;
    }
    frame->version = raw[0];
    frame->type = raw[1];
    frame->seq = (uint16_t)(raw[2] | (raw[3] << 8));
    frame->len = raw[4];
    if (frame->version != MRBOT_PROTOCOL_VERSION_MAJOR) {
        return MRBOT_ERR_BAD_VERSION;
    }
    if ((size_t)frame->len != n - MRBOT_HEADER_BYTES) {
        return MRBOT_ERR_BAD_LENGTH;
    }
    memcpy(frame->payload, &raw[MRBOT_HEADER_BYTES], frame->len);
    return mrbot_payload_validate(frame->type, frame->payload, frame->len);
}
"""
