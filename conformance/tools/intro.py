import re,sys,importlib,inspect,json
def analyze(pkg, clsname, seen=None, depth=0, out=None):
    mod = importlib.import_module(pkg+'.models')
    cls = getattr(mod, clsname)
    src = inspect.getsource(cls)
    res = {}
    for attr, typ in cls.swagger_types.items():
        key = cls.attribute_map[attr]
        m = re.search(r'@%s\.setter\n(.*?)(?=\n    @|\n    def to_dict)' % re.escape(attr), src, re.S)
        s = m.group(1) if m else ''
        info = {'type': typ}
        if 'must not be `None`' in s: info['req'] = True
        av = re.search(r'allowed_values = (\[.*?\])', s)
        if av: info['enum'] = eval(av.group(1))
        for pat,k in [(r'len\(\w+\) > (\d+)','maxlen'),(r'len\(\w+\) < (\d+)','minlen'),(r'\w+ > (-?\d+)\)?:  # noqa','max'),(r'\w+ < (-?\d+)\)?:  # noqa','min'),(r're.search\(r?\'(.*?)\'','pattern')]:
            mm = re.search(pat, s)
            if mm: info[k]=mm.group(1)
        res[key]=info
    return res
if __name__=='__main__':
    pkg, cls = sys.argv[1], sys.argv[2]
    r = analyze(pkg, cls)
    for k,v in r.items():
        if v.get('req') or 'enum' in v or len(sys.argv)>3: print(k, v)
