/* redfish_prov_parse.h - pure functions of the Redfish provisioning files
 * (redfish_boot.c, redfish_media.c, redfish_provision.c): our boot device
 * names and the BootSourceOverrideTarget each means, the Boot object as
 * get/set_boot_device answer it, image URL checks, and virtual media slot
 * documents. No network: unit tests call them with canned documents.
 *
 * Names: pxe Pxe, disk Hdd, cd Cd, usb Usb, bios BiosSetup, http UefiHttp,
 * none None (BootSourceOverrideEnabled Disabled also reads as "none").
 * Owns: returned json objects belong to the caller; strings are borrowed. */
#ifndef BMC_REDFISH_PROV_PARSE_H
#define BMC_REDFISH_PROV_PARSE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* Our name for the Redfish target REDFISH, or REDFISH itself when we have
 * none (a BMC's own target); NULL for NULL. */
const char *rfprov_device_name(const char *redfish);

/* The Redfish target for our name OURS, or NULL. */
const char *rfprov_target_of(const char *ours);

/* DOC's "Boot" object (borrowed) or NULL. */
json_object *rfprov_boot_of(json_object *doc);

/* Whether BOOT's "<KEY>@Redfish.AllowableValues" (when published) lists
 * VALUE; true when the BMC publishes no list. */
bool rfprov_boot_allows(json_object *boot, const char *key, const char *value);

/* {boot_device, persistent, mode, override_enabled, allowed} of BOOT. */
json_object *rfprov_boot_state(json_object *boot);

/* Whether STATE (rfprov_boot_state) shows DEVICE with PERSISTENT and, when
 * MODE ("UEFI"/"Legacy") is given, that mode. */
bool rfprov_boot_matches(json_object *state, const char *device,
                         bool persistent, const char *mode);

/* Whether URL is an http/https URL with a host and no spaces, quotes or
 * control characters. */
bool rfprov_media_url_ok(const char *url);

/* Copy URL into OUT with its user:password part (if any) as "***". */
void rfprov_media_redact(const char *url, char *out, size_t len);

/* Replace every occurrence of URL's user:password part (if it has one) in
 * the NUL-terminated TEXT by "***", in place. */
void rfprov_scrub_userinfo(const char *url, char *text);

/* Whether a VirtualMedia document shows media inserted (Inserted, else a
 * non-empty Image). */
bool rfprov_slot_inserted(json_object *doc);

/* Whether a VirtualMedia document shows IMAGE: its Image is IMAGE, or
 * IMAGE without its user:password part (BMCs that keep credentials apart),
 * or, without an Image, its ImageName is IMAGE's last path segment. */
bool rfprov_slot_shows(json_object *doc, const char *image);

/* Whether a VirtualMedia document's MediaTypes lists TYPE. */
bool rfprov_slot_takes(json_object *doc, const char *type);

/* {id, media_types, inserted, image (redacted), write_protected, location}
 * of a VirtualMedia document found at LOCATION ("system"/"manager"). */
json_object *rfprov_slot_json(json_object *doc, const char *location);

/* Whether an ActionInfo document lists parameter NAME. */
bool rfprov_info_allows(json_object *info, const char *name);

#endif
