/*
 * fuzz_event_decode.c — libFuzzer target for the stored event encoding
 * (kpi_event_decode in kpi_event.h), what the store reads back from a data
 * file that may be damaged.
 *
 * Properties: any bytes either decode or give ERR_STORE_CORRUPT (never a
 * read outside the buffer: ASan); a decoded event has a non-empty id within
 * KPI_ID_MAX, a known type, strings inside the buffer or static, and
 * re-encodes to bytes that decode to the same encoding again.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "kpi_event.h"

static uint8_t enc1[1 << 18], enc2[1 << 18];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kpi_event_t ev;
    err_t e = kpi_event_decode(data, size, &ev);
    if (e != ERR_OK) {
        FUZZ_CHECK(e == ERR_STORE_CORRUPT, "decode: %s", err_code(e));
        return 0;
    }
    FUZZ_CHECK(ev.id != NULL && ev.id[0] != '\0' && strlen(ev.id) <= KPI_ID_MAX, "id");
    FUZZ_CHECK(ev.type > KPI_EV_NONE && ev.type < KPI_EV_COUNT, "type %d", (int)ev.type);
    FUZZ_CHECK(ev.business_unit != NULL, "business_unit NULL");
    size_t l1 = 0, l2 = 0;
    e = kpi_event_encode(&ev, enc1, sizeof enc1, &l1);
    FUZZ_CHECK(e == ERR_OK, "re-encode: %s", err_code(e));
    kpi_event_t ev2;
    e = kpi_event_decode(enc1, l1, &ev2);
    FUZZ_CHECK(e == ERR_OK, "decode of a re-encoding: %s", err_code(e));
    e = kpi_event_encode(&ev2, enc2, sizeof enc2, &l2);
    FUZZ_CHECK(e == ERR_OK && l1 == l2 && memcmp(enc1, enc2, l1) == 0, "encoding not stable");
    return 0;
}
