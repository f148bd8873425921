# `sigap --help`, `sigap COMMAND --help` and `sigap man`.
# help-<command> is a command's summary, help-<command>-long the paragraph
# after it, help-<command>-<arg> an argument's help, help-arg-<arg> the help
# of an argument several commands share.

help-heading-usage = Usage:
help-heading-commands = Commands
help-heading-options = Options
help-heading-arguments = Arguments
help-command-value = COMMAND

help-sigap = SIGAP field tool: register workers for BPJS Ketenagakerjaan offline and sync them with the branch office server.
help-arg-db = Database file [default: sigap.db in your data folder; or SIGAP_DB].
help-arg-json = Print machine-readable JSON instead of tables and sentences.
help-arg-lang = Language of messages and help: id (Bahasa Indonesia) or en (English) [default: from SIGAP_LANG, else the system locale, else id].
help-arg-help = Print help.
help-arg-version = Print the version.

help-after =
    A typical day:
      sigap init --server https://sigap.example --device-name laptop-budi --token TOKEN
                                      (once: also sets the database's passphrase)
      sigap unlock                    (asks the passphrase; unlocked for 8 hours)
      sigap register                  (asks for each field on a terminal)
      sigap list --kelurahan 33.72.01.1001 --rw 3
      sigap visit --kelurahan 33.72.01.1001 --rw 3 --rt 5 --households 40
      sigap status
      sigap sync                      (back at the office, with a connection)

    Everything is saved on this device first; nothing needs a connection except
    `sigap sync`. A sync that is cut off loses nothing: run it again.

    Exit status:
      0  done
      1  partly done: some CSV rows were rejected, changes are still pending or
         were rejected by the server after a sync, or `sync --verify` found a
         difference
      2  bad input (invalid NIK, wrong date, missing field…): nothing was saved
      3  the local database or a file could not be read or written
      4  the server could not be reached (your changes are safe; sync again later)
      5  the server refused: token not accepted (401/403), this device enrolled
         under another agent's token, or a protocol version mismatch (upgrade
         sigap)
      6  the database stays locked: wrong passphrase (passphrase salah), or none
         given where nobody can be asked (set SIGAP_PASSPHRASE or run on a
         terminal)

    Environment:
      SIGAP_LANG           language: id (Bahasa Indonesia) or en (English), same as --lang
      SIGAP_DB             database file (same as --db)
      SIGAP_PASSPHRASE     the database's passphrase, for scripts (else asked on
                           the terminal, or kept for a while by `sigap unlock`)
      SIGAP_NEW_PASSPHRASE the new passphrase of `sigap passphrase`, for scripts
      SIGAP_TOKEN          access token (same as --token of `sigap init`)
      SIGAP_RETRY_LIMIT    attempts per request during sync (default 5)
      SIGAP_RETRY_BASE_MS  first retry delay in milliseconds (default 500)

help-help = Print this message or the help of the given command.
help-help-subcommand = The command to explain.

help-init = Set up this device: the server to sync with, its name and token.
help-init-long = Run it once before registering. Run it again to change the server, the name or the token; the device id stays the same.
help-init-server = Server address, e.g. https://sigap.kantor-solo.example
help-init-device_name = A name for this device, e.g. laptop-budi.
help-init-token = Access token from your supervisor (or SIGAP_TOKEN).

help-register = Register a worker. Missing fields are asked for on a terminal.
help-register-nik = The 16-digit NIK from the KTP.
help-register-force = Register even though the last sync says someone else already did (the server merges both into one person).
help-register-no_input = Never ask; fail listing the missing fields instead.

help-arg-name = Full name as on the KTP.
help-arg-birth_date = Birth date: YYYY-MM-DD or DD-MM-YYYY.
help-arg-sex = Sex: L (laki-laki) or P (perempuan).
help-arg-kelurahan = Kelurahan: its name or part of it (pajang, "kp baru") or its code (33.72.01.1001).
help-arg-rw = RW number.
help-arg-rt = RT number.
help-arg-category = pu (wage earner), bpu (informal), jakon (construction), pmi (migrant).
help-arg-occupation = Occupation, e.g. pedagang, buruh, ojek.
help-arg-employer = Employer (required for pu).
help-arg-phone = Phone, e.g. 081234567890.
help-arg-programs = Programmes, e.g. jkk,jkm,jht [default: those the category requires].

help-list = List the people registered on this device.
help-list-kelurahan = Only this kelurahan (name or code).
help-list-rw = Only this RW.
help-list-rt = Only this RT.
help-list-pending = Only people with changes not yet accepted by the server.

help-show = Show one person's registration (and its history with --history).
help-show-nik = The NIK.
help-show-history = Also list every change made to this person on this device.

help-edit = Change fields of a registration (also fixes a rejected change).
help-edit-nik = The NIK of the registration to change.

help-void = Cancel a registration, with a reason. It stays in the history.
help-void-nik = The NIK of the registration to cancel.
help-void-reason = Why, e.g. "duplicate form" or "moved away".

help-import = Import registrations typed up from paper forms (CSV).
help-import-file = CSV file with a header row: nik,name,birth_date,sex,kelurahan,rw,rt,category,occupation,employer,phone,programs (kelurahan: name or code)
help-import-strict = Save nothing if any row is rejected.
help-import-delimiter = The column separator: ';' (or semicolon), as Excel set to Indonesian saves CSV, or ',' (or comma). Default: found from the header row.

help-export = Export registrations to CSV (same columns as import).
help-export-file = Output CSV file, or - for the screen.

help-visit = Log the visit of an RT (households visited), for progress per RT.
help-visit-kelurahan = Kelurahan: its name or code.
help-visit-rw = RW number.
help-visit-rt = RT number.
help-visit-households = How many households you visited.
help-visit-note = A note, e.g. "ketua RT absent, come back Friday".

help-progress = Show the progress per RT: households visited and people registered.
help-progress-kelurahan = Only this kelurahan (name or code).

help-status = What is on this device: records, pending and rejected changes, last sync.

help-sync = Send pending changes to the server and fetch the people of your areas.
help-sync-verify = Check with the server that it holds every change sent from here.
help-sync-full = Pull every person of your areas again from the start, your own registrations included (after restoring this device from a backup, or when the replica is damaged).

help-lookup = Is this NIK already registered? Answers offline from the last sync.
help-lookup-nik = The NIK to look up.

help-completions = Print the tab-completion script for a shell (needs no database).
help-completions-long =
    bash: sigap completions bash > ~/.local/share/bash-completion/completions/sigap

    zsh: sigap completions zsh > ~/.zfunc/_sigap (a folder in your $fpath)

    fish: sigap completions fish > ~/.config/fish/completions/sigap.fish

    Then open a new terminal.
help-completions-shell = The shell to complete in: bash, zsh, fish, powershell or elvish.

help-man = Print the manual page (roff) of sigap (needs no database).
help-man-long = Install it with `sigap man > ~/.local/share/man/man1/sigap.1`, then read it with `man sigap`.

help-report = Supervisors: coverage, agents and progress from the server, as a table, JSON, CSV or Excel.
help-report-area = Area code [default: the token's first area].
help-report-year = Year of the figures [default: this year].
help-report-depth = Levels of child areas with --by area (0 to 4) [default: 1].
help-report-by = One row per area, category, agent or day [default: area].
help-report-history = Coverage over time, per week (per day with --by day).
help-report-csv = Also write the table to this CSV file.
help-report-xlsx = Also write the table to this Excel workbook (.xlsx).

help-conflicts = Supervisors: identity conflicts to resolve, both sides side by side.
help-conflicts-status = Which conflicts to list.

help-resolve = Supervisors: resolve a conflict by choosing the values to keep.
help-resolve-id = The conflict's number (from `sigap conflicts`).
help-resolve-keep = A value to keep: name=TEXT, birth_date=YYYY-MM-DD or sex=VALUE. Give one --keep per field.
help-resolve-note = Why, kept with the resolution.

help-unlock = Unlock the database for a while: asks the passphrase once and keeps the key in the OS keyring.
help-unlock-how_long = How long the key is kept: 30m, 8h, 2d (at most 7d). Then the database locks again.
help-lock = Lock the database again now: forget the key `sigap unlock` kept.
help-passphrase = Change the database's passphrase (asks the old one first).
help-init-ca_cert = The office's own certificate authority (a PEM file), trusted for the server's certificate besides the system's.
help-init-insecure = Allow plain http:// to a server that is not this laptop: tokens and personal data then cross the network unencrypted.
help-backup = Copy the database (still encrypted) and its key settings to FILE and FILE.salt: keep both to restore this laptop's work.
help-backup-file = Where to write the copy; must not exist yet (FILE.salt is written beside it).
help-doctor = Check this laptop: database, refused changes, replica age, server, HTTPS and clock, with a verdict.
