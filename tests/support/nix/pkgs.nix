# The packages the modules name, as store paths that are never built. Evaluation only needs a
# package's identity (its store path, name, version, main program); a version here is the one
# nixpkgs ships at the pinned release, so checks on versions see what a real build would.
{ lib }:
let
  package = pname: version: extra: {
    type = "derivation";
    name = "${pname}-${version}";
    inherit pname version;
    outPath = "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" pname)}-${pname}-${version}";
    meta.mainProgram = pname;
  } // extra;
  # pkgs/build-support/trivial-builders (writeTextFile): the derivation is named exactly `name`,
  # with no version suffix.
  file = name: extra: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" name)}-${name}";
  } // extra;
in
{
  # Only ever interpolated lazily (disko's test helpers); nothing reads below it.
  path = "/nixpkgs-is-not-available-to-the-suite";
  # pkgs/by-name/ta/tailscale (nixos-26.05)
  tailscale = package "tailscale" "1.84.3" { };
  jq = package "jq" "1.8.0" { };
  gnugrep = package "gnugrep" "3.12" { meta.mainProgram = "grep"; };
  # pkgs/by-name/in/infisical (nixos-26.05)
  infisical = package "infisical" "0.43.114" { };
  curl = package "curl" "8.14.1" { };
  coreutils = package "coreutils" "9.7" { };
  nix = package "nix" "2.28.4" { };
  # pkgs/os-specific/linux/systemd: only its store path is read (lib/systemd/<helper>); no
  # module checks its version, so none is claimed here.
  systemd = package "systemd" "pinned" { };
  writeText = name: text: file name { inherit text; };
  # pkgs/build-support/trivial-builders: a bin/<name> script that sets PATH from runtimeInputs
  # and runs `text` under errexit, nounset and pipefail (shellcheck checks it at build time).
  writeShellApplication = { name, text, runtimeInputs ? [ ], ... }:
    file name { inherit text runtimeInputs; meta.mainProgram = name; };
}
