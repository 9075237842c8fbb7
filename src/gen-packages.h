/* gen-packages.h: the package list of a release, and Debian version order. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *name;
  char *version;
  char *arch;
} GenPackage;

void gen_package_free (GenPackage *pkg);

/* Installed packages of a dpkg status file ("Status: install ok installed"),
 * sorted by name. */
GPtrArray *gen_packages_from_dpkg_status (const char *text);

/* {"packages": [{"name": …, "version": …, "architecture": …}, …]}, sorted by name. */
GPtrArray *gen_packages_from_json (const char *text, GError **error);

/* Debian version order (epoch:upstream-revision, '~' before anything), by
 * libsolv's evr comparison: <0, 0 or >0. */
int gen_package_version_compare (const char *a, const char *b);

G_END_DECLS
