// The command definitions as plain data, read from the commander program that the CLI runs
// (src/cli/main.ts buildProgram()): the man page and the shell completions are written from this,
// so that they list exactly the commands and options the CLI accepts.

/** A value placeholder that names a file or a folder gets file-name completion. */
const PATH_VALUE = /^(path|dir|file|folder)s?$|(path|dir|file)$/i;

function optionSpec(help, option) {
  const value = option.flags.match(/[<[]([^>\]]+)[>\]]/);
  return {
    flags: option.flags,
    short: option.short,
    long: option.long,
    description: help.optionDescription(option),
    takesValue: Boolean(option.required || option.optional),
    valueName: value ? value[1] : undefined,
    // A folder on the server (--remote-path) is no local file name.
    valueIsPath: value ? PATH_VALUE.test(value[1]) && !/remote/.test(option.long ?? "") : false,
  };
}

/**
 * { name, version, description, options, commands: [{ name, usage, description, arguments, options }] }.
 * Options include the implicit --help (and the program's --version); commands include `help`.
 */
export function commandSpec(program) {
  const help = program.createHelp();
  const commands = help.visibleCommands(program).map((cmd) => ({
    name: cmd.name(),
    usage: `${program.name()} ${cmd.name()} ${cmd.usage()}`.trim(),
    description: cmd.description(),
    arguments: cmd.registeredArguments.map((a) => ({ name: a.name(), required: a.required, variadic: a.variadic })),
    options: help.visibleOptions(cmd).map((o) => optionSpec(help, o)),
  }));
  return {
    name: program.name(),
    version: program.version(),
    description: program.description(),
    options: help.visibleOptions(program).map((o) => optionSpec(help, o)),
    commands,
  };
}
