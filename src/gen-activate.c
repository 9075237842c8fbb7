#include "gen-activate.h"

#include "gen-boot.h"
#include "gen-data.h"
#include "gen-error.h"
#include "gen-util.h"

gboolean
gen_generation_check_complete (GenSysroot *sysroot, GenGeneration *g, GError **error)
{
  g_autofree char *deploy = gen_sysroot_deploy_path (g->release_checksum);
  g_autofree char *etc = g_strdup_printf (GEN_GENERATIONS_DIR "/%u/etc", g->number);
  g_autofree char *vmlinuz = g_strdup_printf (GEN_BOOT_DIR "/%s/vmlinuz", g->kernel_dir);
  g_autofree char *initrd = g_strdup_printf (GEN_BOOT_DIR "/%s/initrd.img", g->kernel_dir);
  const char *missing = NULL;
  if (!gen_exists_at (sysroot->dfd, deploy))
    missing = deploy;
  else if (!gen_exists_at (sysroot->dfd, etc))
    missing = etc;
  else if (!g->kernel_dir || !gen_exists_at (sysroot->dfd, vmlinuz))
    missing = vmlinuz;
  else if (g->has_initrd && !gen_exists_at (sysroot->dfd, initrd))
    missing = initrd;
  if (!missing)
    return TRUE;
  g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "generation %u is damaged: '%s' is missing",
               g->number, missing);
  return FALSE;
}

guint
gen_rollback (GenSysroot *sysroot, guint to, GError **error)
{
  return gen_rollback_full (sysroot, to, FALSE, NULL, error);
}

guint
gen_rollback_full (GenSysroot *sysroot, guint to, gboolean force, char **out_forced,
                   GError **error)
{
  g_autoptr (GArray) numbers = gen_sysroot_generation_numbers (sysroot, error);
  if (!numbers)
    return 0;
  if (numbers->len == 0)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION,
                   "there are no generations to roll back to");
      return 0;
    }
  guint target_number = 0;
  for (guint i = 0; i < numbers->len; i++)
    {
      guint n = g_array_index (numbers, guint, i);
      if (to ? n == to : n < sysroot->current)
        target_number = n;
    }
  GenGeneration *target = target_number ? gen_sysroot_listed_generation (sysroot, target_number) : NULL;
  if (!target && !to && sysroot->current == 0)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION,
                   "there is no current generation to roll back from (use --to N)");
      return 0;
    }
  if (!target)
    {
      if (to && to <= sysroot->last)
        g_set_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION,
                     "generation %u was removed (by gen gc; see 'gen list')", to);
      else if (to)
        g_set_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION,
                     "generation %u does not exist (see 'gen list')", to);
      else
        g_set_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION,
                     "no generation before %u to roll back to (see 'gen list')", sysroot->current);
      return 0;
    }
  if (!gen_generation_check_complete (sysroot, target, error))
    return 0;
  g_autoptr (GenDataPlan) data = NULL;
  if (target->number != sysroot->current
      && !(data = gen_data_plan (sysroot, target, NULL, "rollback", force, error)))
    return 0;
  g_autoptr (GError) local_error = NULL;
  if (!gen_sysroot_cleanup (sysroot, NULL, &local_error)
      || !gen_data_commit (sysroot, data, &local_error)
      || !gen_sysroot_commit_state (sysroot, target->os, target->number, target->number,
                                    sysroot->last, &local_error))
    {
      gen_propagate_no_space (error, g_steal_pointer (&local_error), sysroot->path);
      return 0;
    }
  if (out_forced)
    *out_forced = data ? g_strdup (data->forced) : NULL;
  return target->number;
}
