import {ReceptorCommand} from '../core/cli/base.js';
import {receptorVersion} from '../core/version.js';

export interface VersionResult {
  version: string;
  node: string;
  platform: string;
}

export default class Version extends ReceptorCommand {
  static override summary = 'Show the receptor version.';

  async run(): Promise<VersionResult> {
    await this.parse(Version);
    const result = {version: receptorVersion(), node: process.version, platform: `${process.platform}-${process.arch}`};
    this.log(result.version);
    return result;
  }
}
