/**
 * Tryton's value encoding (pure; runs without a server): Decimal/date/datetime/time/bytes both
 * ways, naive-UTC datetimes, microsecond versions, neutral field types.
 */
import { describe, expect, it } from "vitest";
import {
  decodeValue,
  encodeDate,
  encodeDecimal,
  isoToDateTime,
  rawDateTime,
  rawToIso,
  type TrytonDateTime,
} from "../../src/connectors/tryton/codec.ts";
import { neutralType } from "../../src/connectors/tryton/index.ts";
import { ValidationRejected } from "../../src/errors.ts";

const dt: TrytonDateTime = { __class__: "datetime", year: 2026, month: 11, day: 27, hour: 2, minute: 7, second: 3, microsecond: 856702 };

describe("tryton codec", () => {
  it("decodes Tryton classes recursively: Decimal → number, date → YYYY-MM-DD, datetime → UTC ISO ms (truncated)", () => {
    const v = decodeValue({
      amount: { __class__: "Decimal", decimal: "290.00" },
      day: { __class__: "date", year: 2026, month: 3, day: 4 },
      at: dt,
      t: { __class__: "time", hour: 9, minute: 5, second: 0, microsecond: 0 },
      d: { __class__: "timedelta", seconds: 90 },
      b: { __class__: "bytes", base64: "aGk=" },
      rows: [{ price: { __class__: "Decimal", decimal: "10.25" } }],
    });
    expect(v).toEqual({
      amount: 290,
      day: "2026-03-04",
      at: "2026-11-27T02:07:03.856Z",
      t: "09:05:00",
      d: 90,
      b: "aGk=",
      rows: [{ price: 10.25 }],
    });
  });

  it("keeps the microsecond text of a timestamp for versions and orders it as text", () => {
    expect(rawDateTime(dt)).toBe("2026-11-27T02:07:03.856702");
    expect(rawToIso(rawDateTime(dt))).toBe("2026-11-27T02:07:03.856Z");
    const later = rawDateTime({ ...dt, microsecond: 856703 });
    expect(later > rawDateTime(dt)).toBe(true);
    expect(rawToIso(later)).toBe(rawToIso(rawDateTime(dt))); // same millisecond at the interface
  });

  it("encodes UTC ISO (any zone) as naive UTC datetime", () => {
    expect(isoToDateTime("2026-11-27T03:07:03.856+01:00")).toEqual({ ...dt, microsecond: 856000 });
    expect(() => isoToDateTime("yesterday")).toThrow(ValidationRejected);
  });

  it("encodes decimals from numbers and strings without float noise, and refuses non-numbers", () => {
    expect(encodeDecimal(10.25)).toEqual({ __class__: "Decimal", decimal: "10.25" });
    expect(encodeDecimal("7.50")).toEqual({ __class__: "Decimal", decimal: "7.50" });
    expect(encodeDecimal(1e-7).decimal).toBe("0.0000001");
    expect(() => encodeDecimal("10,5")).toThrow(ValidationRejected);
    expect(() => encodeDecimal(Number.NaN)).toThrow(ValidationRejected);
    expect(encodeDate("2026-03-04")).toEqual({ __class__: "date", year: 2026, month: 3, day: 4 });
    expect(() => encodeDate("04.03.2026")).toThrow(ValidationRejected);
  });

  it("maps Tryton field types to neutral types", () => {
    expect(neutralType("name", { type: "char" })).toBe("string");
    expect(neutralType("email", { type: "char" })).toBe("email");
    expect(neutralType("total_amount", { type: "numeric" })).toBe("currency");
    expect(neutralType("quantity", { type: "float" })).toBe("float");
    expect(neutralType("party", { type: "many2one" })).toBe("link");
    expect(neutralType("lines", { type: "one2many" })).toBe("table");
    expect(neutralType("state", { type: "selection" })).toBe("enum");
    expect(neutralType("write_date", { type: "timestamp" })).toBe("datetime");
  });
});
