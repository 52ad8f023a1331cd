# The packages the modules name, as store paths that are never built. Evaluation only needs a
# package's identity (its store path, name, version, main program). Every version comes from
# the committed pin manifest (nixos/nixpkgs-pin.json), never from this file: checks on versions
# see what the pinned tree holds, and a package the modules name must be listed there (the
# stand-in refuses one that is not). A package no module reads the version of has none there;
# its stand-in is named "<pname>-unread".
{ lib, hostPlatform }:
let
  manifest = builtins.fromJSON (builtins.readFile ../../../nixos/nixpkgs-pin.json);
  versionAtPin = pname:
    let entry = manifest.packages.${pname} or (throw "pkgs.nix: ${pname} is not in nixos/nixpkgs-pin.json; add it there (scripts/nixpkgs-pin reads its version)");
    in if entry.version == null then "unread" else entry.version;
  storePath = name: "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" name)}-${name}";
  package = pname: extra: let version = versionAtPin pname; in {
    type = "derivation";
    name = "${pname}-${version}";
    inherit pname version;
    outPath = storePath "${pname}-${version}";
    meta.mainProgram = pname;
  } // extra;
  # pkgs/build-support/trivial-builders (writeTextFile): the derivation is named exactly `name`,
  # with no version suffix.
  file = name: extra: {
    type = "derivation";
    inherit name;
    outPath = storePath name;
  } // extra;
in
{
  # Only ever interpolated lazily (disko's test helpers); nothing reads below it.
  path = "/nixpkgs-is-not-available-to-the-suite";
  # pkgs/by-name/ta/tailscale
  tailscale = package "tailscale" { };
  jq = package "jq" { };
  gnugrep = package "gnugrep" { meta.mainProgram = "grep"; };
  # pkgs/development/tools/infisical at the default pin (moved to pkgs/by-name later)
  infisical = package "infisical" { };
  curl = package "curl" { };
  coreutils = package "coreutils" { };
  getent = package "getent" { };
  util-linux = package "util-linux" { meta.mainProgram = "flock"; };
  nix = package "nix" { };
  # pkgs/os-specific/linux/systemd: only its store path is read (lib/systemd/<helper>).
  systemd = package "systemd" { };
  writeText = name: text: file name { inherit text; };
  # pkgs/build-support/trivial-builders: a bin/<name> script that sets PATH from runtimeInputs
  # and runs `text` under errexit, nounset and pipefail (shellcheck checks it at build time).
  writeShellApplication = { name, text, runtimeInputs ? [ ], ... }:
    file name { inherit text runtimeInputs; meta.mainProgram = name; };
  # pkgs/stdenv/generic/make-derivation.nix: `pname` and `version` give the name
  # "<pname>-<version>"; the attributes stay readable, as on a real derivation. The platform is
  # the configuration's nixpkgs.hostPlatform, as nixos/modules/misc/nixpkgs.nix passes it.
  stdenv = {
    inherit hostPlatform;
    mkDerivation = attributes: attributes // {
      type = "derivation";
      name = "${attributes.pname}-${attributes.version}";
      outPath = storePath "${attributes.pname}-${attributes.version}-${builtins.hashString "sha256" (builtins.toJSON (builtins.removeAttrs attributes [ "src" ]) + attributes.src.outPath)}";
    };
  };
  # pkgs/build-support/fetchurl: a fixed-output derivation named `name`, whose path the hash
  # decides (a different hash is a different path).
  fetchurl = { name, url, hash }: file "${builtins.substring 0 8 (builtins.hashString "sha256" hash)}-${name}" { inherit url hash; };
}
