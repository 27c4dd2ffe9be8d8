import { describe, expect, it } from "vitest";
import {
  checkTimeZone,
  frappeCanonical,
  isoToLocalNaive,
  isoToUtcNaive,
  localNaiveToIso,
  localNaiveToMs,
  utcNaiveToIso,
} from "../../src/connectors/time.ts";
import { ValidationRejected } from "../../src/errors.ts";

describe("connector time conversions", () => {
  it("EspoCRM UTC naive ↔ ISO, never with T or Z", () => {
    expect(utcNaiveToIso("2024-05-01 13:45:00")).toBe("2024-05-01T13:45:00.000Z");
    expect(isoToUtcNaive("2024-05-01T13:45:00.999Z")).toBe("2024-05-01 13:45:00");
    expect(isoToUtcNaive("2024-05-01T13:45:00.999Z")).not.toMatch(/[TZ]/);
  });

  it("ERPNext site-local naive → UTC in zones east and west, with and without fraction", () => {
    expect(localNaiveToIso("2024-01-15 10:30:45.123456", "Asia/Kolkata")).toBe("2024-01-15T05:00:45.123Z");
    expect(localNaiveToIso("2024-01-15 10:30:45", "America/New_York")).toBe("2024-01-15T15:30:45.000Z");
    expect(localNaiveToIso("2024-07-15 10:30:45", "America/New_York")).toBe("2024-07-15T14:30:45.000Z"); // EDT
    expect(localNaiveToIso("2024-07-15 10:30:45", "UTC")).toBe("2024-07-15T10:30:45.000Z");
  });

  it("across a date line: local date differs from the UTC date", () => {
    expect(localNaiveToIso("2024-01-01 03:00:00", "Pacific/Auckland")).toBe("2023-12-31T14:00:00.000Z");
  });

  it("round-trips UTC → site-local → UTC, including DST days", () => {
    for (const tz of ["Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe"]) {
      for (const iso of ["2024-03-31T00:59:59.123Z", "2024-03-31T01:00:00.000Z", "2024-10-27T00:30:00.500Z", "2024-11-03T09:59:00.000Z"]) {
        const local = isoToLocalNaive(iso, tz);
        expect(local).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
        const back = localNaiveToIso(local, tz);
        // In a fall-back hour the earlier instant is chosen; otherwise exact.
        const diff = Date.parse(iso) - Date.parse(back ?? "");
        expect([0, 3_600_000, 1_800_000]).toContain(diff);
      }
    }
  });

  it("the fast paths agree with the careful conversion (random instants, many zones, with and without fractions)", () => {
    let x = 12345;
    const rnd = () => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
    for (const tz of [
      "UTC",
      "Europe/Berlin",
      "America/New_York",
      "Asia/Kolkata",
      "Asia/Kathmandu",
      "Australia/Lord_Howe",
      "America/St_Johns",
    ]) {
      for (let i = 0; i < 300; i++) {
        const ms = Date.UTC(1995, 0, 1) + Math.floor(rnd() * 40 * 365 * 86_400_000);
        const local = isoToLocalNaive(ms, tz);
        const variants = [local, local.slice(0, 19), local.slice(0, 23)];
        for (const v of variants)
          expect(localNaiveToIso(v, tz), `${tz} ${v}`).toBe(new Date(localNaiveToMs(v, tz) as number).toISOString());
        const utc = new Date(ms).toISOString();
        const naive = `${utc.slice(0, 10)} ${utc.slice(11, 23)}`;
        expect(utcNaiveToIso(naive)).toBe(utc);
        expect(utcNaiveToIso(naive.slice(0, 19))).toBe(`${utc.slice(0, 19)}.000Z`);
      }
    }
    expect(utcNaiveToIso("2024-02-30 10:00:00")).toBe("2024-03-01T10:00:00.000Z");
    expect(utcNaiveToIso("not a date")).toBeUndefined();
  });

  it("canonical Frappe form has six fraction digits", () => {
    expect(frappeCanonical("2024-01-15 10:30:45")).toBe("2024-01-15 10:30:45.000000");
    expect(frappeCanonical("2024-01-15 10:30:45.5")).toBe("2024-01-15 10:30:45.500000");
  });

  it("an unknown zone is a clear ValidationRejected", () => {
    expect(() => checkTimeZone("Mars/Olympus", "erpnext")).toThrow(ValidationRejected);
    expect(checkTimeZone("Europe/Paris", "erpnext")).toBe("Europe/Paris");
  });
});
