//! Chinese (zh-CN) and English. Every string the user sees is a [`Msg`]; [`tr`] gives
//! it in a language. The language follows the browser at first, and the header's switch
//! changes it (remembered in `localStorage`).

use leptos::prelude::*;
use linli_domain::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The `lang` attribute value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language a browser language tag asks for: Chinese for `zh…`, else English.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.to_ascii_lowercase().starts_with("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// Everything the app says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    AppName,
    Subdistrict,
    CommandFace,
    FieldFace,
    PublicFace,
    SignIn,
    SignOut,
    Username,
    Password,
    SigningIn,
    WrongCredentials,
    TooManyAttempts,
    NetworkError,
    LanguageSwitch,
    RoleCommander,
    RoleGridWorker,
    RoleViewer,
    NotFound,
    BackHome,
    MapLoading,
    MapFailed,
    FiguresFailed,
    Communities,
    PublicIntro,
    StaffSignIn,
    Loading,
    MapLabel,
    ZoomIn,
    ZoomOut,
    FitDistrict,
    Close,
    Building,
    Road,
    Community,
    Compound,
    Levels,
    Layers,
    Grids,
    Roads,
    Buildings,
    Homes,
    Cases,
    Routes,
    Resident,
    Age,
    LivesAlone,
    Yes,
    No,
    Care,
    Address,
    Phone,
    Contact,
    Sensors,
    Battery,
    Case,
    Stage,
    Priority,
    Opened,
    Route,
    Schedule,
    Checkpoint,
    HomeHealth,
    CasePriorityLegend,
    OpenCases,
    SolvedThisMonth,
    Alerts,
    NoAlerts,
    Acknowledge,
    Resolve,
    Escalate,
    Outcome,
    Note,
    Cancel,
    LiveConnected,
    LiveReconnecting,
    Mute,
    Unmute,
    AllowNotifications,
    Notified,
    NobodyNotified,
    AllAlerts,
    OpenOnly,
    AcknowledgedBy,
    NewCritical,
    Occurrences,
    ActionFailed,
    Due,
    Overdue,
    Timeline,
    MoveTo,
    CloseCase,
    Reopen,
    AddNote,
    PatrolUnit,
    Patrols,
    NoPatrols,
    Passed,
    PatrolState,
    OnRoute,
    OffRoute,
    Silent,
    RunEnded,
    Started,
    Coverage,
    RouteProgress,
    OffRoutePositions,
    LastSeen,
    NewCase,
    NewCaseHint,
    Title,
    Category,
    Source,
    Responsible,
    NotAssigned,
    Description,
    Report,
    NoCommunityHere,
    TitleRequired,
    PossibleDuplicates,
    MergeAsDuplicate,
    Recurs,
    AllStages,
    AllCategories,
    AllCommunities,
    OverdueOnly,
    NoCases,
    ShowClosed,
    ReportedThisMonth,
    AverageDaysToSolve,
    EldersVisited,
    AsOf,
    AreasLegend,
    HomesMonitored,
    SensorsOnline,
    CriticalAlerts,
    OtherAlerts,
    PatrolsOut,
    ResolvedToday,
    Charts,
    AlertsPerHour,
    CasesByCommunity,
    Timeliness,
    MinutesToAcknowledge,
    ClosedOnTime,
    HoursToClose,
    QueuedOffline,
    StorageFull,
    RefusedNotAllowed,
    CallResident,
    CallContact,
    NeverSeen,
    AcknowledgedWaiting,
    ResolvedWaiting,
    AllowedHere,
    PhotoQueued,
    PhotoUnreadable,
    WaitingToSend,
    ConflictsTitle,
    Dismiss,
    RecordCheckIn,
    CheckedIn,
    StartPatrol,
    EndPatrol,
    SharingPosition,
    ReportHere,
    FollowMe,
    Drill,
    DrillMark,
    StartDrill,
    DrillNoWater,
    DrillGas,
    DrillMissedCheckIn,
    DrillStarted,
    EndDrill,
    MissedCheckpoints,
    NotYetPassed,
    WhyMissed,
    EndAnyway,
    KeepWalking,
    MissedReason,
    NoReasonGiven,
    ReasonRequired,
    ReasonRoadWorks,
    ReasonCalledAway,
    ReasonNoTime,
    ReasonWeather,
    Navigate,
    GoingTo,
    WalkAbout,
    MinutesOnFoot,
    Arrived,
    WaitingForPosition,
    PositionUnavailable,
    OpenInMapsApp,
    StopGuiding,
    Notices,
    NoticeTitle,
    NoticeText,
    ShownFor,
    Publish,
    Withdraw,
    NoNotices,
    ElderNeedsMet,
    AlertsAnswered,
    RefusedSignIn,
    RefusedForbidden,
    RefusedNotFound,
    RefusedConflict,
    RefusedInvalid,
    RefusedServer,
    Cooperating,
    EscalateToCase,
    EscalatedToCommand,
    EscalatedTo,
    EscalatedBy,
    DraftUnavailable,
    PartDone,
    MarkPartDone,
    Assign,
    AddPhoto,
    PhotoBefore,
    PhotoDuring,
    PhotoAfter,
    RolePartner,
    PartnerFace,
    PartnerHint,
    Uploading,
    Tasks,
    NoTasks,
    Dispatch,
    Dispatched,
    SendWho,
    Busy,
}

/// `msg` in `lang`.
pub fn tr(lang: Lang, msg: Msg) -> &'static str {
    use Msg::*;
    match (lang, msg) {
        (Lang::Zh, AppName) => "邻里",
        (Lang::En, AppName) => "Linli",
        (Lang::Zh, Subdistrict) => "同安街道",
        (Lang::En, Subdistrict) => "Tong'an Subdistrict",
        (Lang::Zh, CommandFace) => "指挥中心",
        (Lang::En, CommandFace) => "Command centre",
        (Lang::Zh, FieldFace) => "网格员",
        (Lang::En, FieldFace) => "Field",
        (Lang::Zh, PublicFace) => "公开信息",
        (Lang::En, PublicFace) => "Public status",
        (Lang::Zh, SignIn) => "登录",
        (Lang::En, SignIn) => "Sign in",
        (Lang::Zh, SignOut) => "退出",
        (Lang::En, SignOut) => "Sign out",
        (Lang::Zh, Username) => "用户名",
        (Lang::En, Username) => "Username",
        (Lang::Zh, Password) => "密码",
        (Lang::En, Password) => "Password",
        (Lang::Zh, SigningIn) => "正在登录…",
        (Lang::En, SigningIn) => "Signing in…",
        (Lang::Zh, WrongCredentials) => "用户名或密码错误",
        (Lang::En, WrongCredentials) => "Wrong username or password",
        (Lang::Zh, TooManyAttempts) => "尝试次数过多，请稍后再试",
        (Lang::En, TooManyAttempts) => "Too many attempts; please try again later",
        (Lang::Zh, NetworkError) => "无法连接服务器",
        (Lang::En, NetworkError) => "Cannot reach the server",
        (Lang::Zh, LanguageSwitch) => "English",
        (Lang::En, LanguageSwitch) => "中文",
        (Lang::Zh, RoleCommander) => "指挥员",
        (Lang::En, RoleCommander) => "Commander",
        (Lang::Zh, RoleGridWorker) => "网格员",
        (Lang::En, RoleGridWorker) => "Grid worker",
        (Lang::Zh, RoleViewer) => "查看员",
        (Lang::En, RoleViewer) => "Viewer",
        (Lang::Zh, NotFound) => "页面不存在",
        (Lang::En, NotFound) => "Page not found",
        (Lang::Zh, BackHome) => "返回首页",
        (Lang::En, BackHome) => "Back to the start",
        (Lang::Zh, MapLoading) => "地图加载中…",
        (Lang::En, MapLoading) => "Loading the map…",
        (Lang::Zh, MapFailed) => "地图数据加载失败",
        (Lang::En, MapFailed) => "The map data could not be loaded",
        (Lang::Zh, FiguresFailed) => "数据加载失败，请稍后刷新页面",
        (Lang::En, FiguresFailed) => "The figures could not be loaded; reload the page later",
        (Lang::Zh, Communities) => "社区",
        (Lang::En, Communities) => "Communities",
        (Lang::Zh, PublicIntro) => "同安街道各社区的公开服务信息",
        (Lang::En, PublicIntro) => "Public service information of Tong'an's communities",
        (Lang::Zh, StaffSignIn) => "工作人员登录",
        (Lang::En, StaffSignIn) => "Staff sign-in",
        (Lang::Zh, Loading) => "加载中…",
        (Lang::En, Loading) => "Loading…",
        (Lang::Zh, MapLabel) => "街道地图：拖动平移，滚轮或双指缩放，方向键移动",
        (Lang::En, MapLabel) => {
            "Map of the subdistrict: drag to pan, wheel or pinch to zoom, arrow keys to move"
        }
        (Lang::Zh, ZoomIn) => "放大",
        (Lang::En, ZoomIn) => "Zoom in",
        (Lang::Zh, ZoomOut) => "缩小",
        (Lang::En, ZoomOut) => "Zoom out",
        (Lang::Zh, FitDistrict) => "显示全街道",
        (Lang::En, FitDistrict) => "Show the whole subdistrict",
        (Lang::Zh, Close) => "关闭",
        (Lang::En, Close) => "Close",
        (Lang::Zh, Building) => "楼栋",
        (Lang::En, Building) => "Building",
        (Lang::Zh, Road) => "道路",
        (Lang::En, Road) => "Road",
        (Lang::Zh, Community) => "社区",
        (Lang::En, Community) => "Community",
        (Lang::Zh, Compound) => "小区",
        (Lang::En, Compound) => "Compound",
        (Lang::Zh, Levels) => "层数",
        (Lang::En, Levels) => "Floors",
        (Lang::Zh, Layers) => "图层",
        (Lang::En, Layers) => "Layers",
        (Lang::Zh, Grids) => "网格",
        (Lang::En, Grids) => "Grids",
        (Lang::Zh, Roads) => "道路",
        (Lang::En, Roads) => "Roads",
        (Lang::Zh, Buildings) => "楼栋",
        (Lang::En, Buildings) => "Buildings",
        (Lang::Zh, Homes) => "独居老人家庭",
        (Lang::En, Homes) => "Elder homes",
        (Lang::Zh, Cases) => "事件",
        (Lang::En, Cases) => "Cases",
        (Lang::Zh, Routes) => "巡查路线",
        (Lang::En, Routes) => "Patrol routes",
        (Lang::Zh, Resident) => "住户",
        (Lang::En, Resident) => "Resident",
        (Lang::Zh, Age) => "年龄",
        (Lang::En, Age) => "Age",
        (Lang::Zh, LivesAlone) => "独居",
        (Lang::En, LivesAlone) => "Lives alone",
        (Lang::Zh, Yes) => "是",
        (Lang::En, Yes) => "yes",
        (Lang::Zh, No) => "否",
        (Lang::En, No) => "no",
        (Lang::Zh, Care) => "照护等级",
        (Lang::En, Care) => "Care",
        (Lang::Zh, Address) => "住址",
        (Lang::En, Address) => "Address",
        (Lang::Zh, Phone) => "电话",
        (Lang::En, Phone) => "Phone",
        (Lang::Zh, Contact) => "联系人",
        (Lang::En, Contact) => "Contact",
        (Lang::Zh, Sensors) => "传感器",
        (Lang::En, Sensors) => "Sensors",
        (Lang::Zh, Battery) => "电量",
        (Lang::En, Battery) => "battery",
        (Lang::Zh, Case) => "事件",
        (Lang::En, Case) => "Case",
        (Lang::Zh, Stage) => "阶段",
        (Lang::En, Stage) => "Stage",
        (Lang::Zh, Due) => "办结时限",
        (Lang::En, Due) => "Due",
        (Lang::Zh, Overdue) => "已超期",
        (Lang::En, Overdue) => "Overdue",
        (Lang::Zh, Timeline) => "处置过程",
        (Lang::En, Timeline) => "Timeline",
        (Lang::Zh, MoveTo) => "推进到",
        (Lang::En, MoveTo) => "Move to",
        (Lang::Zh, CloseCase) => "办结",
        (Lang::En, CloseCase) => "Close",
        (Lang::Zh, Reopen) => "重新打开",
        (Lang::En, Reopen) => "Reopen",
        (Lang::Zh, AddNote) => "添加备注",
        (Lang::En, AddNote) => "Add note",
        (Lang::Zh, Priority) => "优先级",
        (Lang::En, Priority) => "Priority",
        (Lang::Zh, Opened) => "上报时间",
        (Lang::En, Opened) => "Reported",
        (Lang::Zh, Route) => "巡查路线",
        (Lang::En, Route) => "Patrol route",
        (Lang::Zh, Schedule) => "时间",
        (Lang::En, Schedule) => "Schedule",
        (Lang::Zh, Checkpoint) => "巡查点",
        (Lang::En, Checkpoint) => "Checkpoint",
        (Lang::Zh, HomeHealth) => "家庭传感器状态",
        (Lang::En, HomeHealth) => "Home sensors",
        (Lang::Zh, CasePriorityLegend) => "事件优先级",
        (Lang::En, CasePriorityLegend) => "Case priority",
        (Lang::Zh, OpenCases) => "办理中事件",
        (Lang::En, OpenCases) => "Open cases",
        (Lang::Zh, SolvedThisMonth) => "本月已解决",
        (Lang::En, SolvedThisMonth) => "Solved this month",
        (Lang::Zh, Alerts) => "告警",
        (Lang::En, Alerts) => "Alerts",
        (Lang::Zh, NoAlerts) => "暂无告警",
        (Lang::En, NoAlerts) => "No alerts",
        (Lang::Zh, Acknowledge) => "确认接单",
        (Lang::En, Acknowledge) => "Acknowledge",
        (Lang::Zh, Resolve) => "办结",
        (Lang::En, Resolve) => "Resolve",
        (Lang::Zh, Escalate) => "升级为事件",
        (Lang::En, Escalate) => "Escalate to case",
        (Lang::Zh, Outcome) => "处置结果",
        (Lang::En, Outcome) => "Outcome",
        (Lang::Zh, Note) => "备注",
        (Lang::En, Note) => "Note",
        (Lang::Zh, Cancel) => "取消",
        (Lang::En, Cancel) => "Cancel",
        (Lang::Zh, LiveConnected) => "实时",
        (Lang::En, LiveConnected) => "Live",
        (Lang::Zh, LiveReconnecting) => "正在重新连接…",
        (Lang::En, LiveReconnecting) => "Reconnecting…",
        (Lang::Zh, Mute) => "静音",
        (Lang::En, Mute) => "Mute",
        (Lang::Zh, Unmute) => "取消静音",
        (Lang::En, Unmute) => "Sound on",
        (Lang::Zh, AllowNotifications) => "开启系统通知",
        (Lang::En, AllowNotifications) => "Allow notifications",
        (Lang::Zh, Notified) => "通知记录",
        (Lang::En, Notified) => "Who was told",
        (Lang::Zh, NobodyNotified) => "没有发出通知（未设置通知渠道）",
        (Lang::En, NobodyNotified) => "Nobody was notified (no channel set up)",
        (Lang::Zh, AllAlerts) => "全部",
        (Lang::En, AllAlerts) => "All",
        (Lang::Zh, OpenOnly) => "待确认",
        (Lang::En, OpenOnly) => "Unacknowledged",
        (Lang::Zh, AcknowledgedBy) => "已确认",
        (Lang::En, AcknowledgedBy) => "Acknowledged by",
        (Lang::Zh, NewCritical) => "紧急告警",
        (Lang::En, NewCritical) => "Critical alert",
        (Lang::Zh, Occurrences) => "次数",
        (Lang::En, Occurrences) => "Times seen",
        (Lang::Zh, ActionFailed) => "操作未成功，请重试",
        (Lang::En, ActionFailed) => "The change did not go through; try again",
        (Lang::Zh, PatrolUnit) => "巡查队",
        (Lang::En, PatrolUnit) => "Patrol unit",
        (Lang::Zh, Patrols) => "巡查",
        (Lang::En, Patrols) => "Patrols",
        (Lang::Zh, NoPatrols) => "暂无巡查记录",
        (Lang::En, NoPatrols) => "No patrol runs yet",
        (Lang::Zh, Passed) => "到达时间",
        (Lang::En, Passed) => "Passed at",
        (Lang::Zh, PatrolState) => "状态",
        (Lang::En, PatrolState) => "State",
        (Lang::Zh, OnRoute) => "巡查中",
        (Lang::En, OnRoute) => "On the route",
        (Lang::Zh, OffRoute) => "偏离路线",
        (Lang::En, OffRoute) => "Off the route",
        (Lang::Zh, Silent) => "失联（5分钟无定位）",
        (Lang::En, Silent) => "Silent: no position for 5 minutes",
        (Lang::Zh, RunEnded) => "已收队",
        (Lang::En, RunEnded) => "Back, run ended",
        (Lang::Zh, Started) => "出发时间",
        (Lang::En, Started) => "Set out",
        (Lang::Zh, Coverage) => "已巡查点位",
        (Lang::En, Coverage) => "Checkpoints passed",
        (Lang::Zh, RouteProgress) => "路线进度",
        (Lang::En, RouteProgress) => "Along the route",
        (Lang::Zh, OffRoutePositions) => "偏离路线定位",
        (Lang::En, OffRoutePositions) => "Positions off the route",
        (Lang::Zh, LastSeen) => "最后定位",
        (Lang::En, LastSeen) => "Last position",
        (Lang::Zh, NewCase) => "新建事件",
        (Lang::En, NewCase) => "New case",
        (Lang::Zh, NewCaseHint) => "在地图上右键或长按即可在该处上报事件",
        (Lang::En, NewCaseHint) => "Right-click or long-press the map to report a case there",
        (Lang::Zh, Cooperating) => "协办单位",
        (Lang::En, Cooperating) => "Cooperating",
        (Lang::Zh, EscalateToCase) => "升级为事件：确认标题、描述和处置单位",
        (Lang::En, EscalateToCase) => "Escalate into a case: check title, description and parties",
        (Lang::Zh, EscalatedToCommand) => "超时未确认，已上报指挥中心",
        (Lang::En, EscalatedToCommand) => "Not acknowledged in time: raised to the command centre",
        (Lang::Zh, EscalatedTo) => "已升级，交",
        (Lang::En, EscalatedTo) => "Escalated to",
        (Lang::Zh, EscalatedBy) => "已升级 · 经办",
        (Lang::En, EscalatedBy) => "Escalated by",
        (Lang::Zh, DraftUnavailable) => "无法读取草稿；可按默认内容升级",
        (Lang::En, DraftUnavailable) => "The draft could not be read; escalate with the defaults",
        (Lang::Zh, PartDone) => "本方处置完成",
        (Lang::En, PartDone) => "part done",
        (Lang::Zh, MarkPartDone) => "标记本单位处置完成",
        (Lang::En, MarkPartDone) => "Mark our part done",
        (Lang::Zh, Assign) => "指派",
        (Lang::En, Assign) => "Assign",
        (Lang::Zh, AddPhoto) => "拍照上传",
        (Lang::En, AddPhoto) => "Take a photo",
        (Lang::Zh, PhotoBefore) => "处置前",
        (Lang::En, PhotoBefore) => "Before",
        (Lang::Zh, PhotoDuring) => "处置中",
        (Lang::En, PhotoDuring) => "During",
        (Lang::Zh, PhotoAfter) => "处置后",
        (Lang::En, PhotoAfter) => "After",
        (Lang::Zh, RolePartner) => "联动单位",
        (Lang::En, RolePartner) => "Partner",
        (Lang::Zh, PartnerFace) => "联动处置",
        (Lang::En, PartnerFace) => "Joint handling",
        (Lang::Zh, PartnerHint) => {
            "以下是指派给本单位的事件：可添加备注、上传照片、标记本单位处置完成。"
        }
        (Lang::En, PartnerHint) => {
            "The cases assigned to your organisation: add notes and photos, mark your part done."
        }
        (Lang::Zh, Uploading) => "正在上传…",
        (Lang::En, Uploading) => "Uploading…",
        (Lang::Zh, Tasks) => "任务",
        (Lang::En, Tasks) => "Tasks",
        (Lang::Zh, NoTasks) => "暂无派单任务",
        (Lang::En, NoTasks) => "No tasks",
        (Lang::Zh, Dispatch) => "派单",
        (Lang::En, Dispatch) => "Send",
        (Lang::Zh, Dispatched) => "已派",
        (Lang::En, Dispatched) => "Sent",
        (Lang::Zh, SendWho) => "派给（巡逻队 unit:… 或网格员账号）",
        (Lang::En, SendWho) => "Send (patrol unit unit:… or a grid worker's name)",
        (Lang::Zh, Busy) => "任务中",
        (Lang::En, Busy) => "busy",
        (Lang::Zh, Title) => "标题",
        (Lang::En, Title) => "Title",
        (Lang::Zh, Category) => "类别",
        (Lang::En, Category) => "Category",
        (Lang::Zh, Source) => "来源",
        (Lang::En, Source) => "Source",
        (Lang::Zh, Responsible) => "责任单位",
        (Lang::En, Responsible) => "Responsible",
        (Lang::Zh, NotAssigned) => "暂不指定",
        (Lang::En, NotAssigned) => "Not assigned yet",
        (Lang::Zh, Description) => "情况描述",
        (Lang::En, Description) => "Description",
        (Lang::Zh, Report) => "上报",
        (Lang::En, Report) => "Report",
        (Lang::Zh, NoCommunityHere) => "此处不在任何社区范围内",
        (Lang::En, NoCommunityHere) => "This spot lies in no community",
        (Lang::Zh, TitleRequired) => "请填写标题",
        (Lang::En, TitleRequired) => "Please give a title",
        (Lang::Zh, PossibleDuplicates) => "附近已有相同问题的未办结事件，可能重复：",
        (Lang::En, PossibleDuplicates) => "Open cases about the same problem nearby:",
        (Lang::Zh, MergeAsDuplicate) => "合并为重复上报",
        (Lang::En, MergeAsDuplicate) => "Merge as a duplicate",
        (Lang::Zh, Recurs) => "此处曾解决过相同问题，问题复发：",
        (Lang::En, Recurs) => "Solved here before; the problem came back:",
        (Lang::Zh, AllStages) => "全部阶段",
        (Lang::En, AllStages) => "All stages",
        (Lang::Zh, AllCategories) => "全部类别",
        (Lang::En, AllCategories) => "All categories",
        (Lang::Zh, AllCommunities) => "全部社区",
        (Lang::En, AllCommunities) => "All communities",
        (Lang::Zh, OverdueOnly) => "仅超期",
        (Lang::En, OverdueOnly) => "Overdue only",
        (Lang::Zh, NoCases) => "没有符合条件的事件",
        (Lang::En, NoCases) => "No cases match",
        (Lang::Zh, ShowClosed) => "含已办结",
        (Lang::En, ShowClosed) => "Include closed",
        (Lang::Zh, ReportedThisMonth) => "本月上报",
        (Lang::En, ReportedThisMonth) => "Reported this month",
        (Lang::Zh, AverageDaysToSolve) => "平均办结天数",
        (Lang::En, AverageDaysToSolve) => "Average days to solve",
        (Lang::Zh, EldersVisited) => "本月探访老人",
        (Lang::En, EldersVisited) => "Elders visited this month",
        (Lang::Zh, AsOf) => "数据更新于",
        (Lang::En, AsOf) => "Figures as of",
        (Lang::Zh, AreasLegend) => "地图圆圈：各片区（约500米）办理中和本月已解决的事件数",
        (Lang::En, AreasLegend) => {
            "Circles on the map: open cases and cases solved this month per area of about 500 m"
        }
        (Lang::Zh, HomesMonitored) => "监护老人户",
        (Lang::En, HomesMonitored) => "Homes monitored",
        (Lang::Zh, SensorsOnline) => "设备在线",
        (Lang::En, SensorsOnline) => "Sensors online",
        (Lang::Zh, CriticalAlerts) => "紧急告警",
        (Lang::En, CriticalAlerts) => "Critical alerts",
        (Lang::Zh, OtherAlerts) => "警告 · 提示",
        (Lang::En, OtherAlerts) => "Warnings · info",
        (Lang::Zh, PatrolsOut) => "在岗巡查队",
        (Lang::En, PatrolsOut) => "Patrols out",
        (Lang::Zh, ResolvedToday) => "今日办结",
        (Lang::En, ResolvedToday) => "Resolved today",
        (Lang::Zh, Charts) => "态势图表",
        (Lang::En, Charts) => "Charts",
        (Lang::Zh, AlertsPerHour) => "近24小时每小时告警",
        (Lang::En, AlertsPerHour) => "Alerts per hour, last 24 hours",
        (Lang::Zh, CasesByCommunity) => "各社区办理中事件（按阶段）",
        (Lang::En, CasesByCommunity) => "Open cases by community and stage",
        (Lang::Zh, Timeliness) => "响应与办结时效",
        (Lang::En, Timeliness) => "Response and resolution",
        (Lang::Zh, MinutesToAcknowledge) => "告警确认用时中位数（分钟，近7天）",
        (Lang::En, MinutesToAcknowledge) => "Median minutes to acknowledge (7 days)",
        (Lang::Zh, ClosedOnTime) => "按期办结（近30天）",
        (Lang::En, ClosedOnTime) => "Closed by the due time (30 days)",
        (Lang::Zh, HoursToClose) => "办结用时 / 时限中位数（小时）",
        (Lang::En, HoursToClose) => "Median hours to close / allowed",
        (Lang::Zh, QueuedOffline) => "网络中断，已保存，联网后自动发送",
        (Lang::En, QueuedOffline) => "Offline: kept, and sent when the network returns",
        (Lang::Zh, AcknowledgedWaiting) => "已确认（待同步）",
        (Lang::En, AcknowledgedWaiting) => "Acknowledged (waiting to sync)",
        (Lang::Zh, ResolvedWaiting) => "已处置（待同步）",
        (Lang::En, ResolvedWaiting) => "Resolved (waiting to sync)",
        (Lang::Zh, NeverSeen) => "从未上报",
        (Lang::En, NeverSeen) => "never reported",
        (Lang::Zh, CallResident) => "致电住户",
        (Lang::En, CallResident) => "Call the resident",
        (Lang::Zh, CallContact) => "致电家属",
        (Lang::En, CallContact) => "Call the family",
        (Lang::Zh, RefusedNotAllowed) => "当前阶段不能这样推进",
        (Lang::En, RefusedNotAllowed) => "Not allowed from where it stands",
        (Lang::Zh, AllowedHere) => "，可以：",
        (Lang::En, AllowedHere) => "; allowed: ",
        (Lang::Zh, StorageFull) => "网络中断，且设备存储已满，无法保存：请联网后重试",
        (Lang::En, StorageFull) => {
            "Offline, and this device's storage is full: not kept, try again once online"
        }
        (Lang::Zh, PhotoQueued) => "待上传",
        (Lang::En, PhotoQueued) => "Waiting to upload",
        (Lang::Zh, PhotoUnreadable) => "无法读取这张照片",
        (Lang::En, PhotoUnreadable) => "This photo cannot be read",
        (Lang::Zh, WaitingToSend) => "待同步",
        (Lang::En, WaitingToSend) => "Waiting to send",
        (Lang::Zh, ConflictsTitle) => "以下操作未能完成：",
        (Lang::En, ConflictsTitle) => "These changes could not be made:",
        (Lang::Zh, Dismiss) => "知道了",
        (Lang::En, Dismiss) => "Dismiss",
        (Lang::Zh, RecordCheckIn) => "记录晨安打卡",
        (Lang::En, RecordCheckIn) => "Record the morning check-in",
        (Lang::Zh, CheckedIn) => "已记录今日晨安",
        (Lang::En, CheckedIn) => "Checked in for today",
        (Lang::Zh, StartPatrol) => "开始巡查（共享位置）",
        (Lang::En, StartPatrol) => "Start the patrol (shares position)",
        (Lang::Zh, EndPatrol) => "结束巡查",
        (Lang::En, EndPatrol) => "End the patrol",
        (Lang::Zh, SharingPosition) => "巡查中，正在共享位置",
        (Lang::En, SharingPosition) => "On patrol, sharing position",
        (Lang::Zh, Drill) => "演练",
        (Lang::En, Drill) => "Drill",
        (Lang::Zh, DrillMark) => "【演练】",
        (Lang::En, DrillMark) => "[DRILL] ",
        (Lang::Zh, StartDrill) => "应急演练（仅演练，不计入统计）",
        (Lang::En, StartDrill) => "Drill (practice only, counted nowhere)",
        (Lang::Zh, DrillNoWater) => "模拟长时间未用水",
        (Lang::En, DrillNoWater) => "Meter goes quiet",
        (Lang::Zh, DrillGas) => "模拟燃气泄漏",
        (Lang::En, DrillGas) => "Gas leak",
        (Lang::Zh, DrillMissedCheckIn) => "模拟未晨安打卡",
        (Lang::En, DrillMissedCheckIn) => "Missed check-in",
        (Lang::Zh, DrillStarted) => "演练已开始",
        (Lang::En, DrillStarted) => "Drill started",
        (Lang::Zh, EndDrill) => "结束演练",
        (Lang::En, EndDrill) => "End the drill",
        (Lang::Zh, ReportHere) => "在此上报问题",
        (Lang::En, ReportHere) => "Report a problem here",
        (Lang::Zh, FollowMe) => "跟随我的位置",
        (Lang::En, FollowMe) => "Follow me",
        (Lang::Zh, MissedCheckpoints) => "漏巡点位",
        (Lang::En, MissedCheckpoints) => "Missed checkpoints",
        (Lang::Zh, NotYetPassed) => "尚未巡到",
        (Lang::En, NotYetPassed) => "Not passed yet",
        (Lang::Zh, WhyMissed) => "为什么没有巡到？",
        (Lang::En, WhyMissed) => "Why were they missed?",
        (Lang::Zh, EndAnyway) => "说明原因并结束",
        (Lang::En, EndAnyway) => "End with this reason",
        (Lang::Zh, KeepWalking) => "继续巡查",
        (Lang::En, KeepWalking) => "Keep walking",
        (Lang::Zh, MissedReason) => "漏巡原因",
        (Lang::En, MissedReason) => "Why missed",
        (Lang::Zh, NoReasonGiven) => "未说明原因",
        (Lang::En, NoReasonGiven) => "no reason given",
        (Lang::Zh, ReasonRequired) => "请选择或填写漏巡原因",
        (Lang::En, ReasonRequired) => "Choose or write why they were missed",
        (Lang::Zh, ReasonRoadWorks) => "道路施工，无法通行",
        (Lang::En, ReasonRoadWorks) => "Road works, no way through",
        (Lang::Zh, ReasonCalledAway) => "途中处置突发事件",
        (Lang::En, ReasonCalledAway) => "Called away to an incident",
        (Lang::Zh, ReasonNoTime) => "时间不足",
        (Lang::En, ReasonNoTime) => "Ran out of time",
        (Lang::Zh, ReasonWeather) => "恶劣天气",
        (Lang::En, ReasonWeather) => "Bad weather",
        (Lang::Zh, Navigate) => "导航",
        (Lang::En, Navigate) => "Navigate",
        (Lang::Zh, GoingTo) => "前往",
        (Lang::En, GoingTo) => "Going to",
        (Lang::Zh, WalkAbout) => "步行约",
        (Lang::En, WalkAbout) => "about",
        (Lang::Zh, MinutesOnFoot) => "分钟",
        (Lang::En, MinutesOnFoot) => "min on foot",
        (Lang::Zh, Arrived) => "已到达",
        (Lang::En, Arrived) => "You have arrived",
        (Lang::Zh, WaitingForPosition) => "正在获取您的位置…",
        (Lang::En, WaitingForPosition) => "Finding your position…",
        (Lang::Zh, PositionUnavailable) => "无法获取位置（请允许定位）",
        (Lang::En, PositionUnavailable) => "Position unavailable (allow location access)",
        (Lang::Zh, OpenInMapsApp) => "用地图应用打开",
        (Lang::En, OpenInMapsApp) => "Open in maps app",
        (Lang::Zh, StopGuiding) => "结束导航",
        (Lang::En, StopGuiding) => "Stop",
        (Lang::Zh, Notices) => "通知公告",
        (Lang::En, Notices) => "Notices",
        (Lang::Zh, NoticeTitle) => "标题",
        (Lang::En, NoticeTitle) => "Title",
        (Lang::Zh, NoticeText) => "内容",
        (Lang::En, NoticeText) => "Text",
        (Lang::Zh, ShownFor) => "展示时长",
        (Lang::En, ShownFor) => "Shown for",
        (Lang::Zh, Publish) => "发布",
        (Lang::En, Publish) => "Publish",
        (Lang::Zh, Withdraw) => "撤下",
        (Lang::En, Withdraw) => "Withdraw",
        (Lang::Zh, NoNotices) => "暂无通知",
        (Lang::En, NoNotices) => "No notices",
        (Lang::Zh, ElderNeedsMet) => "为老服务（本月）",
        (Lang::En, ElderNeedsMet) => "Errands and help for elders (month)",
        (Lang::Zh, AlertsAnswered) => "处置告警（本月）",
        (Lang::En, AlertsAnswered) => "Alerts answered (month)",
        (Lang::Zh, RefusedSignIn) => "请重新登录",
        (Lang::En, RefusedSignIn) => "Please sign in again",
        (Lang::Zh, RefusedForbidden) => "无权进行此操作",
        (Lang::En, RefusedForbidden) => "Not allowed for you",
        (Lang::Zh, RefusedNotFound) => "对象不存在或已移除",
        (Lang::En, RefusedNotFound) => "It no longer exists",
        (Lang::Zh, RefusedConflict) => "已被他人处理或状态已变化",
        (Lang::En, RefusedConflict) => "Someone else changed it meanwhile",
        (Lang::Zh, RefusedInvalid) => "填写的内容有误",
        (Lang::En, RefusedInvalid) => "Something entered is not valid",
        (Lang::Zh, RefusedServer) => "服务器暂时出错，请稍后再试",
        (Lang::En, RefusedServer) => "The server failed; try again later",
    }
}

/// Names of the domain's enumerations in each language.
pub mod names {
    use super::Lang;
    use linli_domain::alerts::{AlertKind, AlertOutcome, AlertState, Severity};

    /// What the rule saw, for people: the server's own sentence in English (it names
    /// times and amounts), and in Chinese one made here from the kind and its value.
    pub fn alert_detail(lang: Lang, k: AlertKind, value: Option<f64>, detail: &str) -> String {
        if lang == Lang::En {
            return detail.to_string();
        }
        match (k, value) {
            (AlertKind::Gas, Some(v)) => format!("燃气浓度达爆炸下限的 {v:.0}%"),
            (AlertKind::Gas, None) => "燃气探测器报警".into(),
            (AlertKind::Smoke, _) => "烟感报警器正在报警".into(),
            (AlertKind::ContinuousFlow, Some(v)) => {
                format!("水流长时间未断（当前每分钟 {v:.1} 升）")
            }
            (AlertKind::ContinuousFlow, None) => "水流长时间未断".into(),
            (AlertKind::UnusualWaterUse, Some(v)) => format!("今日已用水 {v:.0} 升，远超平日"),
            (AlertKind::UnusualWaterUse, None) => "今日用水远超平日".into(),
            (AlertKind::NoWaterUse, Some(v)) => {
                format!("长时间未用水（平日这段时间约有 {v:.0} 小时会用水）")
            }
            (AlertKind::NoWaterUse, None) => "长时间未用水".into(),
            (AlertKind::Offline, _) => "设备长时间没有信号".into(),
            (AlertKind::LowBattery, Some(v)) => format!("电量仅剩 {v:.0}%"),
            (AlertKind::LowBattery, None) => "电量低".into(),
            (AlertKind::Tamper, _) => "设备外壳被打开或被移动".into(),
            (AlertKind::MissedCheckIn, _) => "到时未记录晨安打卡".into(),
        }
    }

    pub fn delivery_state(lang: Lang, s: linli_domain::notify::DeliveryState) -> &'static str {
        use linli_domain::notify::DeliveryState as D;
        match (lang, s) {
            (Lang::Zh, D::Pending) => "发送中",
            (Lang::Zh, D::Sent) => "已送达",
            (Lang::Zh, D::Failed) => "发送失败",
            (Lang::Zh, D::Cancelled) => "已取消（已确认）",
            (Lang::En, D::Pending) => "sending",
            (Lang::En, D::Sent) => "delivered",
            (Lang::En, D::Failed) => "failed",
            (Lang::En, D::Cancelled) => "cancelled (acknowledged)",
        }
    }

    pub fn alert_kind(lang: Lang, k: AlertKind) -> &'static str {
        if lang == Lang::Zh {
            k.name_zh()
        } else {
            k.name_en()
        }
    }

    pub fn severity(lang: Lang, s: Severity) -> &'static str {
        match (lang, s) {
            (Lang::Zh, _) => s.name_zh(),
            (Lang::En, Severity::Info) => "Info",
            (Lang::En, Severity::Warning) => "Warning",
            (Lang::En, Severity::Critical) => "Critical",
        }
    }

    pub fn alert_state(lang: Lang, s: AlertState) -> &'static str {
        let zh = lang == Lang::Zh;
        match s {
            AlertState::Open => {
                if zh {
                    "待确认"
                } else {
                    "Open"
                }
            }
            AlertState::Acknowledged => {
                if zh {
                    "处置中"
                } else {
                    "Acknowledged"
                }
            }
            AlertState::Resolved => {
                if zh {
                    "已办结"
                } else {
                    "Resolved"
                }
            }
        }
    }

    pub fn case_outcome(lang: Lang, o: linli_domain::cases::CaseOutcome) -> &'static str {
        use linli_domain::cases::CaseOutcome::*;
        match (lang, o) {
            (Lang::Zh, Solved) => "已解决",
            (Lang::En, Solved) => "Solved",
            (Lang::Zh, SolvedWithFollowUp) => "已解决，持续回访",
            (Lang::En, SolvedWithFollowUp) => "Solved, follow-up",
            (Lang::Zh, NotSolvable) => "无法解决",
            (Lang::En, NotSolvable) => "Not solvable",
            (Lang::Zh, Duplicate) => "重复上报",
            (Lang::En, Duplicate) => "Duplicate",
            (Lang::Zh, Transferred) => "已移交",
            (Lang::En, Transferred) => "Transferred",
            (Lang::Zh, DrillEnded) => "演练结束",
            (Lang::En, DrillEnded) => "Drill ended",
        }
    }

    pub fn outcome(lang: Lang, o: AlertOutcome) -> &'static str {
        let zh = lang == Lang::Zh;
        match o {
            AlertOutcome::Safe => {
                if zh {
                    "平安，在家"
                } else {
                    "Safe at home"
                }
            }
            AlertOutcome::SafeAway => {
                if zh {
                    "平安，外出"
                } else {
                    "Safe, away from home"
                }
            }
            AlertOutcome::Handled => {
                if zh {
                    "已现场处置"
                } else {
                    "Handled on site"
                }
            }
            AlertOutcome::Hospital => {
                if zh {
                    "已送医"
                } else {
                    "Taken to hospital"
                }
            }
            AlertOutcome::DeviceFault => {
                if zh {
                    "设备故障"
                } else {
                    "Device fault"
                }
            }
            AlertOutcome::FalseAlarm => {
                if zh {
                    "误报"
                } else {
                    "False alarm"
                }
            }
            AlertOutcome::Cleared => {
                if zh {
                    "已自动恢复"
                } else {
                    "Cleared by itself"
                }
            }
            AlertOutcome::DrillEnded => {
                if zh {
                    "演练结束"
                } else {
                    "Drill ended"
                }
            }
        }
    }

    use linli_domain::care::{CareLevel, Health, SensorKind};
    use linli_domain::cases::{CaseCategory, CasePriority, CaseStage};

    pub fn health(lang: Lang, h: Health) -> &'static str {
        match (lang, h) {
            (Lang::Zh, Health::Ok) => "正常",
            (Lang::En, Health::Ok) => "OK",
            (Lang::Zh, Health::Warning) => "需关注",
            (Lang::En, Health::Warning) => "Needs a look",
            (Lang::Zh, Health::Offline) => "离线",
            (Lang::En, Health::Offline) => "Offline",
            (Lang::Zh, Health::Alarm) => "报警",
            (Lang::En, Health::Alarm) => "Alarm",
        }
    }

    pub fn sensor(lang: Lang, k: SensorKind) -> &'static str {
        match (lang, k) {
            (Lang::Zh, SensorKind::Water) => "智能水表",
            (Lang::En, SensorKind::Water) => "Water meter",
            (Lang::Zh, SensorKind::Gas) => "燃气报警器",
            (Lang::En, SensorKind::Gas) => "Gas detector",
            (Lang::Zh, SensorKind::Smoke) => "烟感报警器",
            (Lang::En, SensorKind::Smoke) => "Smoke detector",
        }
    }

    pub fn care(lang: Lang, c: CareLevel) -> &'static str {
        match (lang, c) {
            (Lang::Zh, CareLevel::Independent) => "自理",
            (Lang::En, CareLevel::Independent) => "Independent",
            (Lang::Zh, CareLevel::Attention) => "定期探访",
            (Lang::En, CareLevel::Attention) => "Regular visits",
            (Lang::Zh, CareLevel::Intensive) => "每日照看",
            (Lang::En, CareLevel::Intensive) => "Daily checks",
        }
    }

    pub fn category(lang: Lang, c: CaseCategory) -> &'static str {
        match (lang, c) {
            (Lang::Zh, CaseCategory::Environment) => "环境卫生",
            (Lang::En, CaseCategory::Environment) => "Environment and sanitation",
            (Lang::Zh, CaseCategory::FacilitySafety) => "设施安全",
            (Lang::En, CaseCategory::FacilitySafety) => "Facility safety",
            (Lang::Zh, CaseCategory::ElderCare) => "养老服务",
            (Lang::En, CaseCategory::ElderCare) => "Elder care",
            (Lang::Zh, CaseCategory::Dispute) => "矛盾调解",
            (Lang::En, CaseCategory::Dispute) => "Dispute mediation",
            (Lang::Zh, CaseCategory::StreetOrder) => "街面秩序",
            (Lang::En, CaseCategory::StreetOrder) => "Street and commercial order",
            (Lang::Zh, CaseCategory::Infrastructure) => "基础设施",
            (Lang::En, CaseCategory::Infrastructure) => "Infrastructure",
            (Lang::Zh, CaseCategory::Other) => "其他",
            (Lang::En, CaseCategory::Other) => "Other",
        }
    }

    pub fn stage(lang: Lang, s: CaseStage) -> &'static str {
        match (lang, s) {
            (Lang::Zh, CaseStage::Reported) => "主动走访",
            (Lang::En, CaseStage::Reported) => "Reported",
            (Lang::Zh, CaseStage::Identified) => "精准识别",
            (Lang::En, CaseStage::Identified) => "Identified",
            (Lang::Zh, CaseStage::Negotiating) => "柔性协商",
            (Lang::En, CaseStage::Negotiating) => "Negotiating",
            (Lang::Zh, CaseStage::JointHandling) => "联动处置",
            (Lang::En, CaseStage::JointHandling) => "Joint handling",
            (Lang::Zh, CaseStage::Consolidating) => "长效巩固",
            (Lang::En, CaseStage::Consolidating) => "Consolidating",
            (Lang::Zh, CaseStage::Closed) => "已办结",
            (Lang::En, CaseStage::Closed) => "Closed",
        }
    }

    pub fn source(lang: Lang, s: linli_domain::cases::CaseSource) -> &'static str {
        use linli_domain::cases::CaseSource::*;
        match (lang, s) {
            (Lang::Zh, GridVisit) => "网格员走访",
            (Lang::En, GridVisit) => "Grid worker's visit",
            (Lang::Zh, ResidentReport) => "居民反映",
            (Lang::En, ResidentReport) => "Resident's report",
            (Lang::Zh, Hotline) => "热线",
            (Lang::En, Hotline) => "Hotline",
            (Lang::Zh, SensorAlert) => "设备告警",
            (Lang::En, SensorAlert) => "Sensor alert",
            (Lang::Zh, Patrol) => "联合巡查",
            (Lang::En, Patrol) => "Patrol",
        }
    }

    pub fn party(lang: Lang, p: linli_domain::cases::Party) -> &'static str {
        use linli_domain::cases::Party::*;
        match (lang, p) {
            (Lang::Zh, CommunityCommittee) => "社区居委会",
            (Lang::En, CommunityCommittee) => "Community committee",
            (Lang::Zh, PropertyManagement) => "物业公司",
            (Lang::En, PropertyManagement) => "Property management",
            (Lang::Zh, CityManagement) => "城管",
            (Lang::En, CityManagement) => "City management",
            (Lang::Zh, MarketRegulation) => "市场监管",
            (Lang::En, MarketRegulation) => "Market regulation",
            (Lang::Zh, Utilities) => "水电气公司",
            (Lang::En, Utilities) => "Utilities",
            (Lang::Zh, Police) => "派出所",
            (Lang::En, Police) => "Police",
            (Lang::Zh, MediationGroup) => "调解组",
            (Lang::En, MediationGroup) => "Mediation group",
        }
    }

    pub fn dispatch_state(lang: Lang, s: linli_domain::dispatch::DispatchState) -> &'static str {
        use linli_domain::dispatch::DispatchState::*;
        match (lang, s) {
            (Lang::Zh, Sent) => "已派单",
            (Lang::En, Sent) => "sent",
            (Lang::Zh, Accepted) => "已接单",
            (Lang::En, Accepted) => "accepted",
            (Lang::Zh, Arrived) => "已到达",
            (Lang::En, Arrived) => "on the spot",
            (Lang::Zh, Done) => "已完成",
            (Lang::En, Done) => "done",
            (Lang::Zh, Declined) => "已拒单",
            (Lang::En, Declined) => "declined",
        }
    }

    pub fn dispatch_action(lang: Lang, a: linli_domain::dispatch::DispatchAction) -> &'static str {
        use linli_domain::dispatch::DispatchAction::*;
        match (lang, a) {
            (Lang::Zh, Accept) => "接单",
            (Lang::En, Accept) => "Accept",
            (Lang::Zh, Arrive) => "已到达",
            (Lang::En, Arrive) => "Arrived",
            (Lang::Zh, Done) => "完成",
            (Lang::En, Done) => "Done",
            (Lang::Zh, Decline) => "无法前往",
            (Lang::En, Decline) => "Decline",
        }
    }

    pub fn photo_kind(lang: Lang, k: linli_domain::cases::PhotoKind) -> &'static str {
        use linli_domain::cases::PhotoKind::*;
        crate::i18n::tr(
            lang,
            match k {
                Before => crate::i18n::Msg::PhotoBefore,
                During => crate::i18n::Msg::PhotoDuring,
                After => crate::i18n::Msg::PhotoAfter,
            },
        )
    }

    pub fn priority(lang: Lang, p: CasePriority) -> &'static str {
        match (lang, p) {
            (Lang::Zh, CasePriority::Low) => "低",
            (Lang::En, CasePriority::Low) => "Low",
            (Lang::Zh, CasePriority::Normal) => "一般",
            (Lang::En, CasePriority::Normal) => "Normal",
            (Lang::Zh, CasePriority::High) => "高",
            (Lang::En, CasePriority::High) => "High",
            (Lang::Zh, CasePriority::Urgent) => "紧急",
            (Lang::En, CasePriority::Urgent) => "Urgent",
        }
    }
}

/// "09:15": the clock time in China of a moment.
pub fn china_clock(at: Timestamp) -> String {
    let t = at.in_china();
    format!("{:02}:{:02}", t.hour, t.minute)
}

/// The date and clock time in China of a moment, as each language writes them:
/// "11月30日 09:15", "30 Nov 09:15".
pub fn date_time(lang: Lang, at: Timestamp) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = at.in_china();
    let (month, day, hour, minute) = (t.month, t.day, t.hour, t.minute);
    match lang {
        Lang::Zh => format!("{month}月{day}日 {hour:02}:{minute:02}"),
        Lang::En => format!(
            "{day} {} {hour:02}:{minute:02}",
            MONTHS[usize::from(month.clamp(1, 12) - 1)]
        ),
    }
}

/// A count with its thousands grouped, as both languages write it: "20,000".
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

const STORAGE_KEY: &str = "linli.lang";

/// The language to start in: the one chosen before on this device, else the browser's.
pub fn initial_language() -> Lang {
    let window = web_sys::window();
    let saved = window
        .as_ref()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    let browser = || window.and_then(|w| w.navigator().language());
    Lang::from_tag(&saved.or_else(browser).unwrap_or_default())
}

/// Remembers `lang` as this device's choice.
pub fn remember_language(lang: Lang) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(STORAGE_KEY, lang.code());
    }
}

/// Marks the page as written in `lang` (`<html lang>`).
pub fn mark_page(lang: Lang) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", lang.code());
    }
}

/// The current language, shared through context.
#[derive(Debug, Clone, Copy)]
pub struct Language(pub RwSignal<Lang>);

impl Language {
    /// `msg` in the language now (tracked: a closure that calls it follows a switch).
    pub fn t(self, msg: Msg) -> &'static str {
        tr(self.0.get(), msg)
    }

    /// `msg` in a view, following the language: `{lang.text(Msg::SignIn)}`. One
    /// closure type for every text, so the view code that keeps a text up to date is
    /// compiled once, not once per `move || lang.t(…)` written in a view.
    pub fn text(self, msg: Msg) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
        move || self.t(msg)
    }

    pub fn switch(self) {
        let next = self.0.get_untracked().other();
        self.0.set(next);
        remember_language(next);
    }
}

/// Chooses the language ([`initial_language`]) and keeps `<html lang>` in step.
pub fn provide_language() {
    let lang = RwSignal::new(initial_language());
    Effect::new(move |_| mark_page(lang.get()));
    provide_context(Language(lang));
}

pub fn use_language() -> Language {
    expect_context::<Language>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_tags_choose_the_language() {
        assert_eq!(Lang::from_tag("zh-CN"), Lang::Zh);
        assert_eq!(Lang::from_tag("zh-Hans-CN"), Lang::Zh);
        assert_eq!(Lang::from_tag("ZH"), Lang::Zh);
        assert_eq!(Lang::from_tag("en-GB"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::En);
    }

    #[test]
    fn times_are_shown_in_china_time_as_each_language_writes_them() {
        let at = |text: &str| Timestamp::parse(text).unwrap();
        assert_eq!(china_clock(at("2026-11-27T18:13:00.000Z")), "02:13");
        for (lang, time, shown) in [
            (Lang::Zh, "2026-11-27T02:05:00.000Z", "11月27日 10:05"),
            (Lang::En, "2026-11-27T02:05:00Z", "27 Nov 10:05"),
            // Past midnight in China: the next day, the next month, the next year.
            (Lang::Zh, "2026-11-30T16:30:00.000Z", "12月1日 00:30"),
            (Lang::En, "2026-12-31T20:00:00Z", "1 Jan 04:00"),
            (Lang::En, "2028-02-28T17:00:00Z", "29 Feb 01:00"),
        ] {
            assert_eq!(date_time(lang, at(time)), shown, "{time}");
        }
        // Other offsets are turned into China time too.
        assert_eq!(china_clock(at("2026-11-27T10:05:30+08:00")), "10:05");
        assert_eq!(china_clock(at("2026-11-27T01:05:00-01:00")), "10:05");
    }

    #[test]
    fn alert_details_are_told_in_chinese_from_their_kind_and_value() {
        use linli_domain::alerts::AlertKind;
        let english = "gas at 45 % of the lower explosive limit";
        assert_eq!(
            names::alert_detail(Lang::Zh, AlertKind::Gas, Some(45.0), english),
            "燃气浓度达爆炸下限的 45%"
        );
        assert_eq!(
            names::alert_detail(Lang::En, AlertKind::Gas, Some(45.0), english),
            english
        );
        assert_eq!(
            names::alert_detail(Lang::Zh, AlertKind::LowBattery, Some(9.4), "battery at 9 %"),
            "电量仅剩 9%"
        );
    }

    #[test]
    fn counts_group_their_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(20_000), "20,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn the_switch_names_the_other_language_in_its_own_words() {
        assert_eq!(tr(Lang::Zh, Msg::LanguageSwitch), "English");
        assert_eq!(tr(Lang::En, Msg::LanguageSwitch), "中文");
    }
}
