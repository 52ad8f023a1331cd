# Root-only secret files. This module enforces where they live and who may read them;
# their contents are delivered by the install/update pipeline and never enter the store.
{ config, lib, ... }:
let
  cfg = config.relaymd.secrets;
in
{
  options.relaymd.secrets = {
    directory = lib.mkOption {
      # A string, not a path: a path value would be copied into the world-readable store.
      type = lib.types.strMatching "/[^ ]+";
      description = "Root-only (0700) directory holding this host's secret files.";
    };
    files = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      description = "Secret files this host expects (paths only; contents arrive out of band).";
    };
  };

  config = {
    assertions = map (file: {
      assertion = lib.hasPrefix "${cfg.directory}/" file;
      message = "relaymd.secrets.files: ${file} must live in ${cfg.directory}";
    }) cfg.files;

    # 'd' creates the directory (never its contents) and resets its mode and owner at
    # every boot and switch; 'z' tightens an existing file and never creates one.
    systemd.tmpfiles.rules = [
      "d ${cfg.directory} 0700 root root -"
    ] ++ map (file: "z ${file} 0600 root root -") cfg.files;
  };
}
